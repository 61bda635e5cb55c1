package dev.strata.control.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.control.TransientStepException;
import dev.strata.pgcore.id.NodeId;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ecs.EcsClient;
import software.amazon.awssdk.services.ecs.model.Attachment;
import software.amazon.awssdk.services.ecs.model.KeyValuePair;
import software.amazon.awssdk.services.ecs.model.Task;

/**
 * How a retired agent's pool task is found: by the private address of its network interface in
 * the task description ECS returns (the shape of {@code DescribeTasks} for awsvpc tasks, built with
 * the SDK's own model types).
 */
class EcsPoolLauncherTest {

    private static Task task(String arn, String ip) {
        return Task.builder().taskArn(arn).attachments(Attachment.builder().type("ElasticNetworkInterface")
                .details(KeyValuePair.builder().name("subnetId").value("subnet-1").build(),
                        KeyValuePair.builder().name("privateIPv4Address").value(ip).build()).build()).build();
    }

    @Test
    void theTaskIsTheOneWhoseInterfaceHasTheAgentsAddress() {
        List<Task> tasks = List.of(task("arn:t1", "10.0.3.17"), task("arn:t2", "10.0.3.170"), task("arn:t3", "10.0.4.2"));
        assertThat(EcsPoolLauncher.taskAt(tasks, EcsPoolLauncher.hostOf("10.0.3.170:3080"))).get()
                .extracting(Task::taskArn).isEqualTo("arn:t2");
        assertThat(EcsPoolLauncher.taskAt(tasks, "10.0.3.1")).as("no prefix match").isEmpty();
        assertThat(EcsPoolLauncher.taskAt(List.of(Task.builder().taskArn("arn:pending").build()), "10.0.3.17"))
                .as("a task without an interface yet").isEmpty();
    }

    @Test
    void anEmptyPoolIsTransientAndSaysWhatToDo() {
        try (EcsClient ecs = EcsClient.builder().region(Region.EU_WEST_1).build()) {
            EcsPoolLauncher launcher = new EcsPoolLauncher(ecs, "strata-t", "strata-t-compute-pool", java.util.Optional.empty());
            assertThatThrownBy(() -> launcher.launch(NodeId.of("a-1"))).isInstanceOf(TransientStepException.class)
                    .hasMessageContaining("strata-t-compute-pool").hasMessageContaining("poolSize");
        }
    }
}
