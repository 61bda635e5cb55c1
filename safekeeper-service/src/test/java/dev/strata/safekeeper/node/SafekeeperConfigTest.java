package dev.strata.safekeeper.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** There is no unauthenticated safekeeper: a config without the verifier or its own token is refused. */
class SafekeeperConfigTest {

    private static final Path DIR = Path.of("/nonexistent/sk-1");

    @Test
    void aConfigWithoutTheVerifierOrItsTokenIsAnError() {
        assertThatThrownBy(() -> SafekeeperConfig.local(NodeId.of("sk-1"), DIR, "pw", null, TestSafekeepers.dataToken()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("verifier");
        for (String token : new String[] {null, "", "  "}) {
            assertThatThrownBy(() -> SafekeeperConfig.local(NodeId.of("sk-1"), DIR, "pw",
                    TestSafekeepers.AUTH.verifier(), token))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token");
        }
    }

    @Test
    void itsTextHoldsNoSecret() {
        SafekeeperConfig c = TestSafekeepers.config(NodeId.of("sk-1"), DIR, "the-replication-password");
        assertThat(c.toString()).contains("sk-1").doesNotContain("the-replication-password")
                .doesNotContain(TestSafekeepers.dataToken());
    }
}
