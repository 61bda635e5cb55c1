package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.infra.testing.Synthesized;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Parameters are checked before anything is built. */
class StrataStackPropsTest {

    private final StrataStackProps ok = Synthesized.props();

    @Test
    void fewerThanThreeZonesIsRefused() {
        assertThatThrownBy(() -> new StrataStackProps("prod", 2, 2, 10, ok.certificateSecretArn(), ok.domainName(),
                Optional.empty(), ok.repoRoot(), ok.lambdaBundle())).hasMessageContaining("azCount must be 3 to 6");
    }

    @Test
    void anAcmCertificateArnIsRefusedWithTheReason() {
        assertThatThrownBy(() -> new StrataStackProps("prod", 3, 2, 10,
                "arn:aws:acm:eu-west-1:123456789012:certificate/abc", ok.domainName(), Optional.empty(), ok.repoRoot(),
                ok.lambdaBundle())).hasMessageContaining("route on SNI");
    }

    @Test
    void aBadEnvironmentNameIsRefused() {
        assertThatThrownBy(() -> new StrataStackProps("Prod_1", 3, 2, 10, ok.certificateSecretArn(), ok.domainName(),
                Optional.empty(), ok.repoRoot(), ok.lambdaBundle())).hasMessageContaining("envName");
    }

    @Test
    void aBurstLimitOutOfRangeIsRefused() {
        assertThatThrownBy(() -> new StrataStackProps("prod", 3, 2, 101, ok.certificateSecretArn(), ok.domainName(),
                Optional.empty(), ok.repoRoot(), ok.lambdaBundle())).hasMessageContaining("computeBurstMax must be 0 to 100");
    }

    @Test
    void aPoolOfZeroIsRefused() {
        assertThatThrownBy(() -> new StrataStackProps("prod", 3, 0, 10, ok.certificateSecretArn(), ok.domainName(),
                Optional.empty(), ok.repoRoot(), ok.lambdaBundle())).hasMessageContaining("computePoolSize");
    }
}
