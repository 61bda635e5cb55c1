package dev.strata.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.infra.compute.ComputePool;
import dev.strata.infra.testing.Synthesized;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

/** The proxy behind its NLB (ProxyService) and the warm pool (ComputePool). */
class ProxyAndComputeTest {

    private final Template t = Synthesized.get().template;

    @Test
    void proxyPublishesItsMetricsUnderTheEnvironmentTheAlarmsWatch() {
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-proxy",
                "ContainerDefinitions", List.of(Match.objectLike(Map.of("Environment", Match.arrayWith(List.of(
                        Map.of("Name", "STRATA_PROXY_METRICS_ENVIRONMENT", "Value", "test")))))))));
    }

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

    @Test
    void computeAgentsRunTheAgentMainWithTheClusterAddressesAndTheVpcAsClientNetwork() {
        List<String> command = ComputePool.agentCommand("10.40.0.0/16");
        // Every option the agent's parser accepts (ComputeAgentMainTest parses this same shape).
        assertEquals(List.of("compute-agent", "--listen", "0.0.0.0", "--port", "3080", "--compute-listen", "0.0.0.0",
                "--compute-port", "5432", "--client-network", "10.40.0.0/16", "--data-dir", "/var/lib/strata/compute",
                "--pageserver", "pageserver.strata.internal:6400",
                "--safekeeper", "sk-1=http://sk-1.strata.internal:7676",
                "--safekeeper", "sk-2=http://sk-2.strata.internal:7676",
                "--safekeeper", "sk-3=http://sk-3.strata.internal:7676"), command);
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-compute",
                "ContainerDefinitions", List.of(Match.objectLike(Map.of(
                        "Command", Match.arrayWith(List.of("compute-agent", "--listen", "0.0.0.0")),
                        "Secrets", Match.arrayWith(List.of(Match.objectLike(Map.of("Name", "STRATA_COMPUTE_PASSWORD"))))))))));
    }

    @Test
    void theEntryPointRunsTheAgentMainClassThatExists() throws Exception {
        String entry = Files.readString(Path.of("docker/strata-service.sh"));
        Matcher m = Pattern.compile("main=(dev\\.strata\\.compute\\.[A-Za-z.]+)").matcher(entry);
        assertTrue(m.find(), "strata-service.sh names the compute agent's main class");
        String main = m.group(1);
        String source = "../compute-node/src/main/java/" + main.replace('.', '/') + ".java";
        assertTrue(Files.exists(Path.of(source)), main + " exists (" + source + ")");
    }

    @Test
    void proxyRunsTheControlPlaneWakeWithTheTableAndBothStateMachines() {
        // each on its own: the order of a container's environment is the CDK's, not ours
        for (String name : List.of("STRATA_METADATA_TABLE", "STRATA_SFN_WAKE", "STRATA_SFN_SUSPEND")) {
            var container = Match.objectLike(Map.of(
                    "Command", Match.arrayWith(List.of("proxy-aws", "--listen", "0.0.0.0")),
                    "Environment", Match.arrayWith(List.of(Match.objectLike(Map.of("Name", name))))));
            t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                    "Family", "strata-test-proxy", "ContainerDefinitions", List.of(container))));
        }
    }

    @Test
    void proxyMayStartTheWakeAndSuspendExecutionsAndNeverDescribesThem() {
        // the proxy's task role policy: StartExecution, no DescribeExecution (it polls the operation item)
        var proxyPolicies = t.findResources("AWS::IAM::Policy", Match.objectLike(Map.of(
                "Properties", Match.objectLike(Map.of("PolicyName", Match.stringLikeRegexp("ProxyTaskTaskRole.*"))))));
        assertTrue(!proxyPolicies.isEmpty(), "the proxy's task role has a policy");
        String proxy = proxyPolicies.toString();
        assertTrue(proxy.contains("states:StartExecution"), proxy);
        assertTrue(!proxy.contains("states:DescribeExecution"), proxy);
        assertTrue(proxy.contains("dynamodb:PutItem"), "the proxy records the operations it schedules: " + proxy);
    }

    @Test
    void computeAgentsJoinTheWarmPoolInTheMetadataTable() {
        var container = Match.objectLike(Map.of("Environment", Match.arrayWith(List.of(
                Match.objectLike(Map.of("Name", "STRATA_METADATA_TABLE"))))));
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-compute", "ContainerDefinitions", List.of(container))));
        var computePolicies = t.findResources("AWS::IAM::Policy", Match.objectLike(Map.of(
                "Properties", Match.objectLike(Map.of("PolicyName", Match.stringLikeRegexp("ComputePoolTaskTaskRole.*"))))));
        String compute = computePolicies.toString();
        assertTrue(compute.contains("dynamodb:PutItem") && compute.contains("dynamodb:DeleteItem"), compute);
    }

    @Test
    void computeAgentsPublishTheirMetricsUnderTheEnvironment() {
        var container = Match.objectLike(Map.of("Environment", Match.arrayWith(List.of(
                Match.objectLike(Map.of("Name", "STRATA_COMPUTE_METRICS_ENVIRONMENT", "Value", "test"))))));
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-compute", "ContainerDefinitions", List.of(container))));
    }

    @Test
    void stoppedPoolAndOnDemandTasksOfThisClusterGoToTheReaper() {
        var rules = t.findResources("AWS::Events::Rule", Match.objectLike(Map.of("Properties", Match.objectLike(Map.of(
                "EventPattern", Match.objectLike(Map.of(
                        "source", List.of("aws.ecs"),
                        "detail-type", List.of("ECS Task State Change"),
                        "detail", Match.objectLike(Map.of(
                                "group", List.of("service:strata-test-compute-pool", "strata-burst"),
                                "lastStatus", List.of("STOPPED"),
                                "clusterArn", Match.anyValue())))))))));
        assertEquals(1, rules.size(), rules.toString());
        String rule = rules.toString();
        assertTrue(rule.contains("PoolReaperFunction"), "targets the reaper: " + rule);
        t.hasResourceProperties("AWS::Lambda::Function", Match.objectLike(Map.of(
                "Handler", "dev.strata.control.pool.StoppedTaskHandler::handleRequest",
                "VpcConfig", Match.anyValue(),
                "Environment", Map.of("Variables", Match.objectLike(Map.of("STRATA_METADATA_TABLE", Match.anyValue()))))));
        t.hasResourceProperties("AWS::Lambda::Permission", Match.objectLike(Map.of(
                "Action", "lambda:InvokeFunction", "Principal", "events.amazonaws.com")));
    }

    @Test
    void theEntryPointRunsTheAwsProxyMainClassThatExists() throws Exception {
        String entry = Files.readString(Path.of("docker/strata-service.sh"));
        Matcher m = Pattern.compile("main=(dev\\.strata\\.controlapi\\.[A-Za-z.]+)").matcher(entry);
        assertTrue(m.find(), "strata-service.sh names the AWS proxy's main class");
        String source = "../control-api/src/main/java/" + m.group(1).replace('.', '/') + ".java";
        assertTrue(Files.exists(Path.of(source)), m.group(1) + " exists (" + source + ")");
    }
}
