package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.infra.control.ControlPlaneFunctions;
import dev.strata.infra.control.Handlers;
import dev.strata.infra.control.Workflows;
import dev.strata.infra.testing.Synthesized;
import dev.strata.statemachines.Workflow;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

/** Lambda functions (ControlPlaneFunctions) and state machines (Workflows). */
class FunctionsAndWorkflowsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Template t = Synthesized.get().template;

    @Test
    void everyHandlerIsAJava21FunctionWithSnapStart() {
        for (Handlers h : Handlers.ALL) {
            t.hasResourceProperties("AWS::Lambda::Function", Match.objectLike(Map.of(
                    "FunctionName", h.functionName(), "Runtime", "java21", "Handler", h.handler(),
                    "SnapStart", Map.of("ApplyOn", "PublishedVersions"))));
        }
        // one per handler, the ServiceKeys custom resource's (ServiceKeysResourceTest) and the pool
        // reaper's (ProxyAndComputeTest)
        t.resourceCountIs("AWS::Lambda::Function", Handlers.ALL.size() + 2);
    }

    @Test
    void everyFunctionHasAPublishedVersionAndAnAlias() {
        t.resourceCountIs("AWS::Lambda::Version", Handlers.ALL.size());
        t.resourceCountIs("AWS::Lambda::Alias", Handlers.ALL.size());
    }

    @Test
    void everyTaskOfEveryWorkflowCallsADeployedFunction() {
        for (Workflows.Definition d : Workflows.ALL) {
            var names = Workflows.taskFunctions(Workflows.read(Synthesized.repoRoot(), d.file()));
            assertThat(names).isNotEmpty();
            assertThat(names).allMatch(n -> Handlers.byFunctionName(n).isPresent(), "deployed by this app");
        }
    }

    @Test
    void everyHandlerClassIsALambdaRequestHandlerInFunctions() throws Exception {
        for (Handlers h : Handlers.ALL) {
            Class<?> c = Class.forName(Handlers.PACKAGE + "." + h.simpleClassName());
            assertThat(com.amazonaws.services.lambda.runtime.RequestHandler.class.isAssignableFrom(c))
                    .as(h.simpleClassName()).isTrue();
        }
    }

    @Test
    void everyDefinitionInStateMachinesIsDeployed() throws Exception {
        // A workflow added to state-machines/ but not here would exist locally and never on AWS.
        try (var files = java.nio.file.Files.list(Synthesized.repoRoot().resolve(Workflows.DEFINITIONS))) {
            var onDisk = files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".asl.json")).sorted().toList();
            assertThat(Workflows.ALL.stream().map(Workflows.Definition::file).sorted().toList()).isEqualTo(onDisk);
        }
        t.resourceCountIs("AWS::StepFunctions::StateMachine", Workflows.ALL.size());
    }

    @Test
    void stateMachineDefinitionsAreTheFilesAfterSubstitution() {
        String region = "eu-west-1";
        String account = "123456789012";
        for (Workflows.Definition d : Workflows.ALL) {
            Map<String, Object> props = properties(machine(d));
            String inTemplate = (String) props.get("DefinitionString");
            assertThat(inTemplate).isEqualTo(Workflows.read(Synthesized.repoRoot(), d.file()));
            assertThat(props.get("DefinitionSubstitutions")).isEqualTo(Map.of(
                    "Region", Map.of("Ref", "AWS::Region"), "Account", Map.of("Ref", "AWS::AccountId"),
                    "Alias", ControlPlaneFunctions.ALIAS));
            String deployed = inTemplate.replace("${Region}", region).replace("${Account}", account)
                    .replace("${Alias}", ControlPlaneFunctions.ALIAS);
            Workflow oracle = Workflow.valueOf(d.name().toUpperCase().replace('-', '_'));
            assertThat(oracle.fileName()).isEqualTo(d.file());
            assertThat(deployed).isEqualTo(oracle.definition(region, account, ControlPlaneFunctions.ALIAS));
        }
    }

    /** SnapStart applies only to published versions: every task calls the alias the functions publish. */
    @Test
    void everyTaskResourceNamesTheAliasTheFunctionsPublish() throws Exception {
        t.allResourcesProperties("AWS::Lambda::Alias", Match.objectLike(Map.of("Name", ControlPlaneFunctions.ALIAS)));
        for (Workflows.Definition d : Workflows.ALL) {
            Map<String, Object> props = properties(machine(d));
            @SuppressWarnings("unchecked")
            String alias = ((Map<String, String>) props.get("DefinitionSubstitutions")).get("Alias");
            List<String> resources = new ArrayList<>();
            JSON.readTree((String) props.get("DefinitionString")).path("States").forEach(s -> {
                if (s.path("Type").asText().equals("Task")) {
                    resources.add(s.path("Resource").asText());
                }
            });

            assertThat(alias).isEqualTo(ControlPlaneFunctions.ALIAS);
            assertThat(resources).as(d.name()).isNotEmpty().allMatch(r -> r.matches(
                    "arn:aws:lambda:\\$\\{Region}:\\$\\{Account}:function:strata-[a-z-]+:\\$\\{Alias}"));
        }
    }

    /** Least privilege: a machine may invoke the aliases of the functions it names, nothing else. */
    @Test
    void eachMachineMayInvokeOnlyTheAliasesOfItsOwnFunctions() {
        Map<String, String> functionByLogicalId = new HashMap<>();
        t.findResources("AWS::Lambda::Function").forEach((id, r) ->
                functionByLogicalId.put(id, (String) properties(r).get("FunctionName")));
        Map<String, String> functionByAliasId = new HashMap<>();
        t.findResources("AWS::Lambda::Alias").forEach((id, r) -> {
            Object fn = properties(r).get("FunctionName");
            functionByAliasId.put(id, functionByLogicalId.get(((Map<?, ?>) fn).get("Ref")));
        });
        assertThat(functionByAliasId).hasSize(Handlers.ALL.size()).doesNotContainValue(null);

        for (Workflows.Definition d : Workflows.ALL) {
            Map<String, Object> props = properties(machine(d));
            Object role = ((List<?>) ((Map<?, ?>) props.get("RoleArn")).get("Fn::GetAtt")).get(0);
            Set<String> invoked = new HashSet<>();
            t.findResources("AWS::IAM::Policy").values().stream()
                    .filter(p -> ((List<?>) properties(p).get("Roles")).contains(Map.of("Ref", role)))
                    .forEach(p -> {
                        for (Object st : (List<?>) ((Map<?, ?>) properties(p).get("PolicyDocument")).get("Statement")) {
                            Map<?, ?> statement = (Map<?, ?>) st;
                            Object action = statement.get("Action");
                            if (!(action instanceof List<?> l ? l.stream().anyMatch(a -> a.toString().startsWith("lambda:"))
                                    : action.toString().startsWith("lambda:"))) {
                                continue;
                            }
                            assertThat(action).as(d.name()).isEqualTo("lambda:InvokeFunction");
                            Object res = statement.get("Resource");
                            for (Object r : res instanceof List<?> l ? l : List.of(res)) {
                                assertThat(r).as(d.name() + ": an alias of this stack, by Ref").isInstanceOf(Map.class);
                                String aliasId = (String) ((Map<?, ?>) r).get("Ref");
                                assertThat(functionByAliasId).as(d.name() + " invokes " + r).containsKey(aliasId);
                                invoked.add(functionByAliasId.get(aliasId));
                            }
                        }
                    });

            assertThat(invoked).as(d.name()).isEqualTo(Workflows.taskFunctions(Workflows.read(Synthesized.repoRoot(), d.file())));
        }
    }

    @Test
    void storageStepsAreToldWhereTheStorageServicesAreAndMayReadTheirPasswords() {
        for (Handlers h : Handlers.ALL) {
            Map<String, Object> env = environment(h);
            if (h.callsStorageServices()) {
                assertThat(env).as(h.step()).containsEntry("STRATA_PAGESERVER_URL", "http://pageserver.strata.internal:9898")
                        .containsEntry("STRATA_SAFEKEEPERS", "sk-1=http://sk-1.strata.internal:7676,"
                                + "sk-2=http://sk-2.strata.internal:7676,sk-3=http://sk-3.strata.internal:7676")
                        .containsEntry("STRATA_SAFEKEEPER_WALSENDER_PORT", "5454")
                        .containsKeys("STRATA_JWT_SIGNING_KEY_SECRET", "STRATA_REPLICATION_PASSWORD_SECRET",
                                "STRATA_COMPUTE_ADMIN_SECRET");
            } else {
                assertThat(env).as(h.step() + " does not call the storage services")
                        .doesNotContainKeys("STRATA_PAGESERVER_URL", "STRATA_REPLICATION_PASSWORD_SECRET");
            }
        }
    }

    @Test
    void stepsThatRetireAgentsMayStopTasksOfTheirOwnClusterOnly() {
        for (Handlers h : Handlers.ALL) {
            Map<String, Object> env = environment(h);
            if (h.retiresAgents() || h.step().equals("claim-agent")) {
                assertThat(env).as(h.step()).containsEntry("STRATA_ECS_CLUSTER", "strata-test")
                        .containsEntry("STRATA_COMPUTE_POOL_SERVICE", "strata-test-compute-pool");
            } else {
                assertThat(env).as(h.step()).doesNotContainKey("STRATA_ECS_CLUSTER");
            }
        }
        Map<String, Map<String, Object>> stoppers = t.findResources("AWS::IAM::Policy", Match.objectLike(Map.of(
                "Properties", Match.objectLike(Map.of("PolicyDocument", Match.objectLike(Map.of("Statement",
                        Match.arrayWith(List.of(Match.objectLike(Map.of(
                                "Action", List.of("ecs:DescribeTasks", "ecs:StopTask"),
                                "Condition", Match.objectLike(Map.of("ArnEquals", Match.objectLike(Map.of(
                                        "ecs:cluster", Match.anyValue())))))))))))))));
        assertThat(stoppers).as("one role policy per retiring step may stop tasks").hasSize(
                (int) Handlers.ALL.stream().filter(Handlers::retiresAgents).count());
        assertThat(JSON.valueToTree(stoppers).toString()).as("tasks of the environment's cluster only")
                .contains(":task/strata-test/*").doesNotContain("\"Resource\":\"*\",\"Action\":\"ecs:StopTask");
    }

    @Test
    void claimAgentMayStartOnDemandComputeTasksOfThePoolsFamily() {
        Map<String, Object> env = environment(Handlers.byFunctionName("strata-claim-agent").orElseThrow());
        assertThat(env).containsEntry("STRATA_COMPUTE_TASK_FAMILY", "strata-test-compute")
                .containsEntry("STRATA_COMPUTE_BURST_MAX", Integer.toString(Synthesized.BURST_MAX))
                .containsEntry("STRATA_COMPUTE_BURST_IDLE_MINUTES", "15")
                .containsKeys("STRATA_COMPUTE_SUBNETS", "STRATA_COMPUTE_SECURITY_GROUPS");
        Map<String, Map<String, Object>> runners = t.findResources("AWS::IAM::Policy", Match.objectLike(Map.of(
                "Properties", Match.objectLike(Map.of("PolicyDocument", Match.objectLike(Map.of("Statement",
                        Match.arrayWith(List.of(Match.objectLike(Map.of("Action", "ecs:RunTask")))))))))));
        assertThat(runners).as("only ClaimAgent's role may run tasks").hasSize(1);
        String policy = JSON.valueToTree(runners).toString();
        assertThat(policy).contains(":task-definition/strata-test-compute:*").contains("ecs:cluster")
                .contains("iam:PassRole").contains("ecs-tasks.amazonaws.com");
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> environment(Handlers h) {
        Map<String, Map<String, Object>> fns = t.findResources("AWS::Lambda::Function", Match.objectLike(Map.of(
                "Properties", Match.objectLike(Map.of("FunctionName", h.functionName())))));
        assertThat(fns).as(h.functionName()).hasSize(1);
        Map<String, Object> props = properties(fns.values().iterator().next());
        return (Map<String, Object>) ((Map<String, Object>) props.get("Environment")).get("Variables");
    }

    @Test
    void stateMachinesLogEverythingAndTrace() {
        t.allResourcesProperties("AWS::StepFunctions::StateMachine", Match.objectLike(Map.of(
                "LoggingConfiguration", Match.objectLike(Map.of("Level", "ALL", "IncludeExecutionData", true)),
                "TracingConfiguration", Map.of("Enabled", true))));
    }

    @Test
    void logGroupsHaveRetention() {
        t.allResourcesProperties("AWS::Logs::LogGroup", Match.objectLike(Map.of("RetentionInDays", Match.anyValue())));
    }

    private Map<String, Object> machine(Workflows.Definition d) {
        Map<String, Map<String, Object>> sms = t.findResources("AWS::StepFunctions::StateMachine",
                Match.objectLike(Map.of("Properties", Match.objectLike(Map.of(
                        "StateMachineName", "strata-test-" + d.name())))));
        assertThat(sms).hasSize(1);
        return sms.values().iterator().next();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> properties(Map<String, Object> resource) {
        return (Map<String, Object>) resource.get("Properties");
    }
}
