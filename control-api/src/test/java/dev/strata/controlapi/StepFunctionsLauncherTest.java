package dev.strata.controlapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.model.OperationId;
import dev.strata.control.testing.MotoServer;
import dev.strata.statemachines.Workflow;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sfn.SfnClient;
import software.amazon.awssdk.services.sfn.model.ExecutionListItem;

/**
 * The AWS launcher against moto's Step Functions (moto_server, where it is on the PATH; skipped
 * otherwise): StartExecution on the configured state machine, named by the operation id, with the
 * input; a second launch of the same operation starts nothing new. moto only records executions (its
 * Lambda tasks would need Docker): what is checked is the request, which is this class's job.
 */
class StepFunctionsLauncherTest {

    @TempDir
    Path dir;

    @Test
    void startsOneExecutionNamedByTheOperation() throws Exception {
        Assumptions.assumeTrue(MotoServer.executable().isPresent(), "moto_server is not on the PATH");
        try (MotoServer moto = MotoServer.start(dir.resolve("moto.log"));
             SfnClient sfn = SfnClient.builder().endpointOverride(moto.endpoint()).region(Region.US_EAST_1)
                     .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                     .httpClient(UrlConnectionHttpClient.create()).build()) {
            String arn = sfn.createStateMachine(b -> b.name("strata-wake")
                    .definition(Workflow.WAKE.definition("us-east-1", "123456789012", "live"))
                    .roleArn("arn:aws:iam::123456789012:role/strata-workflows")).stateMachineArn();
            StepFunctionsLauncher launcher = new StepFunctionsLauncher(sfn, StepFunctionsLauncher.arnsFrom(
                    Map.of(StepFunctionsLauncher.arnVariable(Workflow.WAKE), arn)));
            OperationId op = OperationId.of("op-launchtest1");
            Map<String, Object> input = Map.of("operationId", op.toString(), "endpointId", "ep-x", "projectId", "p-x",
                    "branchId", "br-x", "recoversExecution", "");
            launcher.launch(Workflow.WAKE, op, input);
            launcher.launch(Workflow.WAKE, op, input);

            var executions = sfn.listExecutions(b -> b.stateMachineArn(arn)).executions();
            assertThat(executions).extracting(ExecutionListItem::name).containsExactly(op.toString());
            String sent = sfn.describeExecution(b -> b.executionArn(executions.getFirst().executionArn())).input();
            assertThat(new ObjectMapper().readTree(sent)).isEqualTo(new ObjectMapper().valueToTree(input));

            assertThatThrownBy(() -> launcher.launch(Workflow.SUSPEND, OperationId.of("op-launchtest2"), Map.of()))
                    .isInstanceOf(ApiException.class).hasMessageContaining(StepFunctionsLauncher.arnVariable(Workflow.SUSPEND));
        }
    }
}
