package dev.strata.infra;

import dev.strata.infra.testing.Synthesized;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

/** The proxy behind its NLB (ProxyService) and the warm pool (ComputePool). */
class ProxyAndComputeTest {

    private final Template t = Synthesized.get().template;

    @Test
    void nlbIsInternetFacing() {
        t.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", Match.objectLike(Map.of(
                "Type", "network", "Scheme", "internet-facing")));
    }

    @Test
    void nlbPassesPostgresThroughOnTcp5432() {
        t.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", Match.objectLike(Map.of(
                "Port", 5432, "Protocol", "TCP")));
    }

    @Test
    void wildcardNameAliasesTheNlb() {
        t.hasResourceProperties("AWS::Route53::RecordSet", Match.objectLike(Map.of(
                "Name", "*." + Synthesized.DOMAIN + ".", "Type", "A", "HostedZoneId", Synthesized.ZONE)));
    }

    @Test
    void proxyGetsTheCertificateFromTheGivenSecret() {
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-proxy",
                "ContainerDefinitions", List.of(Match.objectLike(Map.of("Secrets", Match.arrayWith(List.of(
                        Map.of("Name", "STRATA_TLS_CERTIFICATE", "ValueFrom", Synthesized.CERTIFICATE + ":certificate::")))))))));
    }

    @Test
    void computePoolIsSizedByTheParameter() {
        t.hasResourceProperties("AWS::ECS::Service", Match.objectLike(Map.of(
                "ServiceName", "strata-test-compute-pool", "DesiredCount", Synthesized.POOL_SIZE)));
    }
}
