package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.infra.control.Handlers;
import dev.strata.infra.control.Workflows;
import dev.strata.infra.testing.Synthesized;
import dev.strata.statemachines.Workflow;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

/** Lambda functions (ControlPlaneFunctions) and state machines (Workflows). */
class FunctionsAndWorkflowsTest {

    private final Template t = Synthesized.get().template;

    @Test
    void everyHandlerIsAJava21FunctionWithSnapStart() {
        for (Handlers h : Handlers.ALL) {
            t.hasResourceProperties("AWS::Lambda::Function", Match.objectLike(Map.of(
                    "FunctionName", h.functionName(), "Runtime", "java21", "Handler", h.handler(),
                    "SnapStart", Map.of("ApplyOn", "PublishedVersions"))));
        }
        t.resourceCountIs("AWS::Lambda::Function", Handlers.ALL.size());
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
    void stateMachineDefinitionsAreTheFilesAfterSubstitution() {
        String region = "eu-west-1";
        String account = "123456789012";
        for (Workflows.Definition d : Workflows.ALL) {
            Map<String, Map<String, Object>> sms = t.findResources("AWS::StepFunctions::StateMachine",
                    Match.objectLike(Map.of("Properties", Match.objectLike(Map.of(
                            "StateMachineName", "strata-test-" + d.name())))));
            assertThat(sms).hasSize(1);
            @SuppressWarnings("unchecked")
            Map<String, Object> props = (Map<String, Object>) sms.values().iterator().next().get("Properties");
            String inTemplate = (String) props.get("DefinitionString");
            assertThat(inTemplate).isEqualTo(Workflows.read(Synthesized.repoRoot(), d.file()));
            assertThat(props.get("DefinitionSubstitutions"))
                    .isEqualTo(Map.of("Region", Map.of("Ref", "AWS::Region"), "Account", Map.of("Ref", "AWS::AccountId")));
            String deployed = inTemplate.replace("${Region}", region).replace("${Account}", account);
            Workflow oracle = Workflow.valueOf(d.name().toUpperCase().replace('-', '_'));
            assertThat(oracle.fileName()).isEqualTo(d.file());
            assertThat(deployed).isEqualTo(oracle.definition(region, account));
        }
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
}
