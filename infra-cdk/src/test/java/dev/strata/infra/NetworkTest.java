package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.infra.testing.Synthesized;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

/** The VPC and the security groups (Network). */
class NetworkTest {

    private final Template t = Synthesized.get().template;

    @Test
    void vpcHasFourSubnetGroupsInEachOfThreeZones() {
        t.resourceCountIs("AWS::EC2::Subnet", 12);
    }

    @Test
    void subnetsSpanThreeDistinctZones() {
        var zones = t.findResources("AWS::EC2::Subnet").values().stream()
                .map(r -> String.valueOf(((Map<?, ?>) r.get("Properties")).get("AvailabilityZone"))).distinct().toList();
        assertThat(zones).hasSize(3);
    }

    @Test
    void onlyTheNlbGroupAdmitsTheInternetAndOnlyOnThePostgresPort() {
        List<Map<String, Object>> open = ingressRules().stream()
                .filter(r -> "0.0.0.0/0".equals(r.get("CidrIp")) || "::/0".equals(r.get("CidrIpv6"))).toList();
        assertThat(open).hasSize(1);
        assertThat(open.get(0)).containsEntry("FromPort", 5432).containsEntry("ToPort", 5432).containsEntry("IpProtocol", "tcp");
    }

    @Test
    void noSecurityGroupAllowsAllTraffic() {
        assertThat(ingressRules()).noneMatch(r -> "-1".equals(r.get("IpProtocol")));
        assertThat(egressRules()).noneMatch(r -> "-1".equals(r.get("IpProtocol")));
    }

    @Test
    void safekeepersExchangePositionDatagramsOverUdp() {
        t.hasResourceProperties("AWS::EC2::SecurityGroupIngress", Match.objectLike(Map.of(
                "IpProtocol", "udp", "FromPort", Ports.SAFEKEEPER_HTTP, "ToPort", Ports.SAFEKEEPER_HTTP)));
    }

    @Test
    void pageserverReachesTheSafekeeperWalsender() {
        t.hasResourceProperties("AWS::EC2::SecurityGroupIngress", Match.objectLike(Map.of(
                "IpProtocol", "tcp", "FromPort", Ports.SAFEKEEPER_WALSENDER,
                "GroupId", Map.of("Fn::GetAtt", List.of(id("NetworkSafekeeper"), "GroupId")),
                "SourceSecurityGroupId", Map.of("Fn::GetAtt", List.of(id("NetworkPageserver"), "GroupId")))));
    }

    @Test
    void vpcFlowLogsRecordAllTraffic() {
        t.hasResourceProperties("AWS::EC2::FlowLog", Match.objectLike(Map.of("TrafficType", "ALL")));
    }

    private String id(String prefix) {
        return t.findResources("AWS::EC2::SecurityGroup").keySet().stream()
                .filter(k -> k.matches(prefix + "[A-F0-9]{8}")).findFirst().orElseThrow();
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> ingressRules() {
        List<Map<String, Object>> rules = new java.util.ArrayList<>();
        t.findResources("AWS::EC2::SecurityGroupIngress").values()
                .forEach(r -> rules.add((Map<String, Object>) r.get("Properties")));
        t.findResources("AWS::EC2::SecurityGroup").values().forEach(r -> {
            Object inline = ((Map<String, Object>) r.get("Properties")).get("SecurityGroupIngress");
            if (inline != null) {
                rules.addAll((List<Map<String, Object>>) inline);
            }
        });
        return rules;
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> egressRules() {
        List<Map<String, Object>> rules = new java.util.ArrayList<>();
        t.findResources("AWS::EC2::SecurityGroupEgress").values()
                .forEach(r -> rules.add((Map<String, Object>) r.get("Properties")));
        t.findResources("AWS::EC2::SecurityGroup").values().forEach(r -> {
            Object inline = ((Map<String, Object>) r.get("Properties")).get("SecurityGroupEgress");
            if (inline != null) {
                rules.addAll((List<Map<String, Object>>) inline);
            }
        });
        return rules;
    }
}
