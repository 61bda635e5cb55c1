package dev.strata.control.aws;

import dev.strata.control.TransientStepException;
import dev.strata.control.compute.AgentComputeProvisioner;
import dev.strata.control.model.ComputeAgent;
import dev.strata.pgcore.id.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.ecs.EcsClient;
import software.amazon.awssdk.services.ecs.model.DescribeTasksRequest;
import software.amazon.awssdk.services.ecs.model.EcsException;
import software.amazon.awssdk.services.ecs.model.KeyValuePair;
import software.amazon.awssdk.services.ecs.model.ListTasksRequest;
import software.amazon.awssdk.services.ecs.model.StopTaskRequest;
import software.amazon.awssdk.services.ecs.model.Task;

/**
 * The warm pool on ECS (infra-cdk {@code ComputePool}): a service whose tasks each run a compute
 * agent that registers itself IDLE at its task's private address. ECS keeps the service at its
 * desired count, so a retired agent's task, once stopped, is replaced by a fresh one that joins
 * the pool by itself.
 *
 * <p>Launching an agent on demand (a wake that finds the pool empty) is not done here: it would
 * need a task to reach RUNNING (tens of seconds on Fargate) inside one step, so the step fails as
 * transient and the wake's retries wait for the pool; docs/aws.md says how to size the pool.
 * Retiring an agent stops its task: the task is found among the service's by its private address,
 * which is the agent's address (its {@code --advertise-host}).
 */
final class EcsPoolLauncher implements AgentComputeProvisioner.AgentLauncher {

    private static final Logger log = LoggerFactory.getLogger(EcsPoolLauncher.class);

    private final EcsClient ecs;
    private final String cluster;
    private final String service;

    EcsPoolLauncher(EcsClient ecs, String cluster, String service) {
        this.ecs = Objects.requireNonNull(ecs, "ecs is null");
        this.cluster = Objects.requireNonNull(cluster, "cluster is null");
        this.service = Objects.requireNonNull(service, "service is null");
    }

    @Override
    public String launch(NodeId id) {
        throw new TransientStepException("no IDLE compute agent in the warm pool (ECS service " + service
                + "): every agent is busy or starting; the wake retries, and a pool that is often empty needs a larger "
                + "poolSize (docs/aws.md)");
    }

    @Override
    public void retire(ComputeAgent agent) {
        String host = hostOf(agent.address());
        try {
            List<String> arns = new ArrayList<>();
            ecs.listTasksPaginator(ListTasksRequest.builder().cluster(cluster).serviceName(service).build())
                    .taskArns().forEach(arns::add);
            Optional<Task> task = Optional.empty();
            for (int i = 0; i < arns.size() && task.isEmpty(); i += 100) { // DescribeTasks takes 100 at most
                List<Task> page = ecs.describeTasks(DescribeTasksRequest.builder().cluster(cluster)
                        .tasks(arns.subList(i, Math.min(arns.size(), i + 100))).build()).tasks();
                task = taskAt(page, host);
            }
            if (task.isEmpty()) {
                log.info("agent={} retired: no task of {} at {} (it stopped already)", agent.id(), service, host);
                return;
            }
            ecs.stopTask(StopTaskRequest.builder().cluster(cluster).task(task.get().taskArn())
                    .reason("strata: agent " + agent.id() + " retired by the control plane").build());
            log.info("agent={} retired: stopped task {}", agent.id(), task.get().taskArn());
        } catch (SdkClientException e) {
            throw new TransientStepException("ECS did not answer while retiring agent " + agent.id() + ": "
                    + e.getMessage(), e);
        } catch (EcsException e) {
            if (e.statusCode() >= 500 || e.statusCode() == 429) {
                throw new TransientStepException("ECS is unavailable while retiring agent " + agent.id() + ": "
                        + e.getMessage(), e);
            }
            throw e;
        }
    }

    /** The host of an agent address {@code host:port}. */
    static String hostOf(String address) {
        int colon = address.lastIndexOf(':');
        return colon < 0 ? address : address.substring(0, colon);
    }

    /** The task among {@code tasks} whose network interface has private address {@code host}. */
    static Optional<Task> taskAt(List<Task> tasks, String host) {
        for (Task t : tasks) {
            for (var attachment : t.attachments()) {
                for (KeyValuePair kv : attachment.details()) {
                    if ("privateIPv4Address".equals(kv.name()) && host.equals(kv.value())) {
                        return Optional.of(t);
                    }
                }
            }
        }
        return Optional.empty();
    }
}
