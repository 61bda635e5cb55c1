package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.pgcore.tools.NodeTools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The build's check of every workflow: asl-validator (npm, the AWS-compatible schema and ARN checks) on
 * the definition as deployed (placeholders substituted), then {@link WorkflowLint}, Strata's own rules.
 * An invalid definition fails the build here. Each rule is also shown to catch what it is for.
 */
class DefinitionsTest {

    private static final String VALID_TASK = """
            "Type": "Task", "Resource": "arn:aws:lambda:${Region}:${Account}:function:strata-claim-agent:${Alias}",
            "TimeoutSeconds": 5,
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException",
                "Lambda.SdkClientException", "Lambda.TooManyRequestsException",
                "dev.strata.control.TransientStepException"],
              "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3, "MaxDelaySeconds": 8}]""";

    /** One asl-validator run over every workflow (its Node start is most of its cost). */
    private static Validation deployed;

    @BeforeAll
    static void validateEveryWorkflowAsDeployed(@TempDir Path dir) throws Exception {
        List<Path> files = new ArrayList<>();
        for (Workflow w : Workflow.values()) {
            Path file = dir.resolve(w.fileName());
            Files.writeString(file, w.definition("eu-west-1", "123456789012", "live"));
            files.add(file);
        }
        deployed = aslValidator(files);
    }

    @ParameterizedTest
    @EnumSource(Workflow.class)
    void aslValidatorAcceptsTheDefinitionAsDeployed(Workflow w) {
        assertThat(deployed.output()).as(deployed.output()).contains(w.fileName() + "\" is valid");
    }

    @Test
    void aslValidatorExitsZeroOnTheWorkflows() {
        assertThat(deployed.exit()).as(deployed.output()).isZero();
    }

    @Test
    void aslValidatorRejectsABrokenDefinition(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("broken.asl.json");
        Files.writeString(file, """
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "not-an-arn", "Next": "Nowhere"}}}""");

        Validation v = aslValidator(List.of(file));

        assertThat(v.exit()).isNotZero();
        assertThat(v.output()).contains("invalid");
    }

    @ParameterizedTest
    @EnumSource(Workflow.class)
    void followsStrataRules(Workflow w) {
        assertThat(WorkflowLint.check(w.rawDefinition())).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Workflow.class)
    void usesOnlyTheRegionAccountAndAliasPlaceholders(Workflow w) {
        assertThat(w.rawDefinition())
                .contains(Workflow.REGION_PLACEHOLDER, Workflow.ACCOUNT_PLACEHOLDER, Workflow.ALIAS_PLACEHOLDER);
        assertThat(w.definition("eu-west-1", "123456789012", "live")).doesNotContain("${")
                .contains("arn:aws:lambda:eu-west-1:123456789012:function:strata-");
        assertThat(w.localDefinition()).contains(":" + Workflow.LOCAL_ACCOUNT + ":");
    }

    /** SnapStart applies only to published versions: every task must call the alias, never $LATEST. */
    @ParameterizedTest
    @EnumSource(Workflow.class)
    void everyTaskCallsTheAliasNotLatest(Workflow w) throws Exception {
        JsonNode states = new ObjectMapper().readTree(w.definition("eu-west-1", "123456789012", "live")).path("States");
        List<String> resources = new ArrayList<>();
        states.forEach(s -> {
            if (s.path("Type").asText().equals("Task")) {
                resources.add(s.path("Resource").asText());
            }
        });

        assertThat(resources).isNotEmpty().allMatch(
                r -> r.matches("arn:aws:lambda:eu-west-1:123456789012:function:strata-[a-z-]+:live"), "qualified by the alias");
    }

    @Test
    void substitutionRefusesWhatIsNotARegionAnAccountOrAnAlias() {
        assertThatThrownBy(() -> Workflow.WAKE.definition("\"; drop", "123456789012", "live"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("region");
        assertThatThrownBy(() -> Workflow.WAKE.definition("us-east-1", "1234", "live"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("12 digits");
        for (String bad : List.of("", "$LATEST", "7", "live:1", "li\"ve", "x".repeat(129))) {
            assertThatThrownBy(() -> Workflow.WAKE.definition("us-east-1", "123456789012", bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("alias");
        }
        assertThat(Workflow.WAKE.definition("us-east-1", "123456789012", "blue_2-canary"))
                .contains("function:strata-elect:blue_2-canary\"");
    }

    @Test
    void lintRefusesAnUnqualifiedTaskArnAndUnknownPlaceholders() {
        String def = """
                {"StartAt": "A", "TimeoutSeconds": 60, "States": {
                  "A": {%s, "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "B"}],
                        "Next": "B"},
                  "B": {"Type": "Task", "Resource": "arn:aws:lambda:${Region}:${Account}:function:strata-x:${Version}",
                        "TimeoutSeconds": 5, "Next": "Failed"},
                  "Failed": {"Type": "Fail", "Error": "X"}}}"""
                .formatted(VALID_TASK.replace(":${Alias}\"", "\""));

        List<String> problems = WorkflowLint.check(def);

        assertThat(problems).anyMatch(p -> p.startsWith("A: Resource must be") && p.contains("$LATEST"));
        assertThat(problems).anyMatch(p -> p.startsWith("B: Resource must be"));
        assertThat(problems).anyMatch(p -> p.startsWith("unknown placeholder ${Version}"));
    }

    @Test
    void lintFindsATaskWithoutRetryOrCatch() {
        String def = """
                {"StartAt": "A", "TimeoutSeconds": 60, "States": {
                  "A": {"Type": "Task", "Resource": "arn:aws:lambda:${Region}:${Account}:function:strata-x:${Alias}",
                        "TimeoutSeconds": 5, "Next": "Done"},
                  "Done": {"Type": "Succeed"}}}""";

        assertThat(WorkflowLint.check(def)).contains("A: a Task without Retry", "A: a Task without Catch");
    }

    @Test
    void lintFindsADanglingNextAndAnUnreachableState() {
        String def = """
                {"StartAt": "A", "TimeoutSeconds": 60, "States": {
                  "A": {"Type": "Pass", "Next": "Missing"},
                  "Orphan": {"Type": "Succeed"}}}""";

        assertThat(WorkflowLint.check(def)).anyMatch(p -> p.startsWith("A: goes to 'Missing'"))
                .contains("Orphan: not reachable from StartAt");
    }

    @Test
    void lintFindsACatchThatEndsInSuccessOrSkipsCompensation() {
        String def = """
                {"StartAt": "A", "TimeoutSeconds": 60, "States": {
                  "A": {%s, "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
                        "Next": "Done"},
                  "Done": {"Type": "Succeed"}}}""".formatted(VALID_TASK);

        List<String> problems = WorkflowLint.check(def);

        assertThat(problems).anyMatch(p -> p.contains("neither a compensation nor a Fail state"));
        assertThat(problems).anyMatch(p -> p.contains("can end the execution successfully"));
    }

    @Test
    void lintFindsARetryOfPermanentErrorsAndACatchThatDropsTheInput() {
        String def = """
                {"StartAt": "A", "TimeoutSeconds": 60, "States": {
                  "A": {"Type": "Task", "Resource": "arn:aws:lambda:${Region}:${Account}:function:strata-x:${Alias}",
                        "TimeoutSeconds": 5,
                        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1.0, "MaxAttempts": 3}],
                        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}], "End": true},
                  "Failed": {"Type": "Fail", "Error": "X"}}}""";

        List<String> problems = WorkflowLint.check(def);

        assertThat(problems).anyMatch(p -> p.startsWith("A: Retry must match exactly"));
        assertThat(problems).anyMatch(p -> p.startsWith("A: Retry needs IntervalSeconds"));
        assertThat(problems).anyMatch(p -> p.contains("must keep the input"));
    }

    @Test
    void lintLetsOnlyClaimAgentWaitForAStartingComputeTask() {
        String starting = """
                {"ErrorEquals": ["dev.strata.control.AgentStartingException"], "IntervalSeconds": 5,
                 "BackoffRate": 1.5, "MaxAttempts": 12, "MaxDelaySeconds": 15},""";
        String template = """
                {"StartAt": "A", "TimeoutSeconds": 60, "States": {
                  "A": {"Type": "Task", "Resource": "arn:aws:lambda:${Region}:${Account}:function:strata-%s:${Alias}",
                        "TimeoutSeconds": 5,
                        "Retry": [%s {"ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException",
                            "Lambda.SdkClientException", "Lambda.TooManyRequestsException",
                            "dev.strata.control.TransientStepException"],
                          "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3, "MaxDelaySeconds": 8}],
                        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}], "End": true},
                  "Failed": {"Type": "Fail", "Error": "X"}}}""";

        assertThat(WorkflowLint.check(template.formatted("claim-agent", starting))).isEmpty();
        assertThat(WorkflowLint.check(template.formatted("elect", starting)))
                .anyMatch(p -> p.startsWith("A: Retry must match exactly"));
    }

    @Test
    void lintAcceptsAMinimalCompliantDefinition() {
        String def = """
                {"StartAt": "A", "TimeoutSeconds": 60, "States": {
                  "A": {%s, "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                        "Next": "Done"},
                  "Done": {"Type": "Succeed"},
                  "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}}}"""
                .formatted(VALID_TASK);

        assertThat(WorkflowLint.check(def)).isEmpty();
    }

    private record Validation(int exit, String output) {
    }

    private static Validation aslValidator(List<Path> files) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(NodeTools.get().command("asl-validator"));
        for (Path f : files) {
            cmd.add("--json-path");
            cmd.add(f.toString());
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError("asl-validator did not finish within 60 s");
            }
            return new Validation(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
        }
    }
}
