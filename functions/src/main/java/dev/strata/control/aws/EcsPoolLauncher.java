package dev.strata.control.aws;

import dev.strata.control.AgentStartingException;
import dev.strata.control.StepFailedException;
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
import software.amazon.awssdk.services.ecs.model.AssignPublicIp;
import software.amazon.awssdk.services.ecs.model.AwsVpcConfiguration;
import software.amazon.awssdk.services.ecs.model.ContainerOverride;
import software.amazon.awssdk.services.ecs.model.DescribeTasksRequest;
import software.amazon.awssdk.services.ecs.model.DesiredStatus;
import software.amazon.awssdk.services.ecs.model.EcsException;
import software.amazon.awssdk.services.ecs.model.KeyValuePair;
import software.amazon.awssdk.services.ecs.model.LaunchType;
import software.amazon.awssdk.services.ecs.model.ListTasksRequest;
import software.amazon.awssdk.services.ecs.model.NetworkConfiguration;
import software.amazon.awssdk.services.ecs.model.RunTaskRequest;
import software.amazon.awssdk.services.ecs.model.RunTaskResponse;
import software.amazon.awssdk.services.ecs.model.StopTaskRequest;
import software.amazon.awssdk.services.ecs.model.Task;
import software.amazon.awssdk.services.ecs.model.TaskOverride;

/**
 * The warm pool on ECS (infra-cdk {@code ComputePool}): a service whose tasks each run a compute
 * agent that registers itself IDLE at its task's private address. ECS keeps the service at its
 * desired count, so a retired agent's task, once stopped, is replaced by a fresh one that joins
 * the pool by itself.
 *
 * <p><b>On demand</b> ({@link BurstSettings}; ClaimAgent found no IDLE agent): a standalone task of
 * the pool's task definition, outside the service, started with {@code RunTask} for this wake, its
 * agent id the wake's launched-agent id ({@code startedBy} and {@code STRATA_COMPUTE_AGENT_ID}) and
 * {@code STRATA_COMPUTE_IDLE_EXIT_MINUTES}, so that it leaves the pool and stops once it has been
 * idle that long. A Fargate task takes a minute or so to run: {@link #launch} never returns an
 * address; it throws {@link AgentStartingException}, which the wake retries for about two and a
 * half minutes, until the agent has registered itself IDLE under that id and the control plane
 * claims it ({@code ComputeSteps}). Each retry finds the task it started by {@code startedBy}
 * instead of starting another; at most {@link BurstSettings#max} such tasks run at once.
 *
 * <p>Retiring an agent stops its task: the task is found among the family's by its private
 * address, which is the agent's address (its {@code --advertise-host}).
 */
final class EcsPoolLauncher implements AgentComputeProvisioner.AgentLauncher {

    private static final Logger log = LoggerFactory.getLogger(EcsPoolLauncher.class);

    /** The ECS task group of on-demand tasks: how they are told from the service's and counted. */
    static final String BURST_GROUP = "strata-burst";
    /** The pool task definition's one container (infra-cdk {@code ComputePool}). */
    static final String CONTAINER = "compute";
    /** The agent id an on-demand task registers under (compute-node {@code ComputeAgentMain}). */
    static final String AGENT_ID_ENV = "STRATA_COMPUTE_AGENT_ID";
    /** Minutes of IDLE after which an on-demand agent leaves the pool and its task stops. */
    static final String IDLE_EXIT_ENV = "STRATA_COMPUTE_IDLE_EXIT_MINUTES";

    private final EcsClient ecs;
    private final String cluster;
    private final String service;
    private final Optional<BurstSettings> burst;

    EcsPoolLauncher(EcsClient ecs, String cluster, String service, Optional<BurstSettings> burst) {
        this.ecs = Objects.requireNonNull(ecs, "ecs is null");
        this.cluster = Objects.requireNonNull(cluster, "cluster is null");
        this.service = Objects.requireNonNull(service, "service is null");
        this.burst = Objects.requireNonNull(burst, "burst is null");
    }

    /**
     * Called when the pool has no IDLE agent and none has registered under {@code id} yet: starts
     * (once) an on-demand task whose agent registers as {@code id}, and throws
     * {@link AgentStartingException} while it starts; without on-demand tasks, or at their limit,
     * a {@link TransientStepException} that says what to change.
     */
    @Override
    public String launch(NodeId id) {
        if (burst.isEmpty()) {
            throw new TransientStepException("no IDLE compute agent in the warm pool (ECS service " + service
                    + "): every agent is busy or starting; the wake retries, and a pool that is often empty needs a "
                    + "larger poolSize (docs/aws.md)");
        }
        BurstSettings b = burst.get();
        try {
            // ECS takes startedBy only as the one filter of a ListTasks: list the family's tasks by
            // desired status and pick this wake's by startedBy here.
            List<Task> running = tasks(ListTasksRequest.builder().cluster(cluster).family(b.family())
                    .desiredStatus(DesiredStatus.RUNNING).build());
            Optional<Task> mine = startedFor(running, id);
            if (mine.isPresent()) {
                throw new AgentStartingException("no IDLE compute agent in the warm pool: on-demand compute task "
                        + mine.get().taskArn() + " started for this wake is " + mine.get().lastStatus()
                        + "; waiting for agent " + id + " to join the pool");
            }
            Optional<Task> stopped = startedFor(tasks(ListTasksRequest.builder().cluster(cluster).family(b.family())
                    .desiredStatus(DesiredStatus.STOPPED).build()), id);
            if (stopped.isPresent()) {
                throw new StepFailedException("the on-demand compute task " + stopped.get().taskArn() + " started for "
                        + "this wake stopped before its agent joined the pool: " + stopped.get().stoppedReason());
            }
            long onDemand = running.stream().filter(t -> BURST_GROUP.equals(t.group())).count();
            if (onDemand >= b.max()) {
                throw new TransientStepException("no IDLE compute agent in the warm pool (ECS service " + service
                        + ") and " + onDemand + " on-demand compute tasks run already, the limit (computeBurstMax "
                        + b.max() + "); the wake retries; raise poolSize or computeBurstMax (docs/aws.md)");
            }
            RunTaskResponse run = ecs.runTask(runTask(id, b, cluster));
            if (!run.failures().isEmpty() || run.tasks().isEmpty()) {
                throw new TransientStepException("ECS could not start an on-demand compute task for agent " + id + ": "
                        + run.failures().stream().map(f -> f.reason() + (f.detail() == null ? "" : " (" + f.detail() + ")"))
                        .toList());
            }
            Task t = run.tasks().get(0);
            log.info("agent={} no IDLE agent in the pool: started on-demand task {} ({} of at most {})", id,
                    t.taskArn(), onDemand + 1, b.max());
            throw new AgentStartingException("no IDLE compute agent in the warm pool: started on-demand compute task "
                    + t.taskArn() + " for this wake (" + (onDemand + 1) + " of at most " + b.max() + "); its agent "
                    + id + " joins the pool in about a minute");
        } catch (SdkClientException | EcsException e) {
            throw failure(e, "launching agent " + id);
        }
    }

    /**
     * The {@code RunTask} of an on-demand agent: the pool's task definition and network, outside the
     * service, named by the agent id in {@code startedBy} (how a retry finds it) and its environment.
     */
    private static RunTaskRequest runTask(NodeId id, BurstSettings b, String cluster) {
        return RunTaskRequest.builder()
                .cluster(cluster)
                .taskDefinition(b.family())
                .launchType(LaunchType.FARGATE)
                .count(1)
                .group(BURST_GROUP)
                .startedBy(id.toString())
                .networkConfiguration(NetworkConfiguration.builder().awsvpcConfiguration(AwsVpcConfiguration.builder()
                        .subnets(b.subnets()).securityGroups(b.securityGroups()).assignPublicIp(AssignPublicIp.DISABLED)
                        .build()).build())
                .overrides(TaskOverride.builder().containerOverrides(ContainerOverride.builder().name(CONTAINER)
                        .environment(KeyValuePair.builder().name(AGENT_ID_ENV).value(id.toString()).build(),
                                KeyValuePair.builder().name(IDLE_EXIT_ENV).value(Integer.toString(b.idleMinutes())).build())
                        .build()).build())
                .build();
    }

    /** The tasks a listing names, described (DescribeTasks takes 100 at most). */
    private List<Task> tasks(ListTasksRequest list) {
        List<String> arns = new ArrayList<>();
        ecs.listTasksPaginator(list).taskArns().forEach(arns::add);
        List<Task> out = new ArrayList<>();
        for (int i = 0; i < arns.size(); i += 100) {
            out.addAll(ecs.describeTasks(DescribeTasksRequest.builder().cluster(cluster)
                    .tasks(arns.subList(i, Math.min(arns.size(), i + 100))).build()).tasks());
        }
        return out;
    }

    /** The task among {@code tasks} started for agent {@code id} (its {@code startedBy}). */
    private static Optional<Task> startedFor(List<Task> tasks, NodeId id) {
        return tasks.stream().filter(t -> id.toString().equals(t.startedBy())).findFirst();
    }

    /**
     * An ECS call that failed while doing {@code what}: transient if ECS did not answer, was
     * unavailable or throttled us (the workflow retries), else the error as it is (permanent).
     */
    private static RuntimeException failure(RuntimeException e, String what) {
        if (e instanceof SdkClientException) {
            return new TransientStepException("ECS did not answer while " + what + ": " + e.getMessage(), e);
        }
        if (e instanceof EcsException ecs && (ecs.statusCode() >= 500 || ecs.statusCode() == 429)) {
            return new TransientStepException("ECS is unavailable while " + what + ": " + e.getMessage(), e);
        }
        return e;
    }

    @Override
    public void retire(ComputeAgent agent) {
        String host = hostOf(agent.address());
        try {
            // the service's tasks; with on-demand tasks, every task of the pool's family (the service's too)
            ListTasksRequest.Builder list = ListTasksRequest.builder().cluster(cluster);
            Optional<Task> task = taskAt(tasks((burst.isPresent() ? list.family(burst.get().family())
                    : list.serviceName(service)).build()), host);
            if (task.isEmpty()) {
                log.info("agent={} retired: no task of {} at {} (it stopped already)", agent.id(), service, host);
                return;
            }
            ecs.stopTask(StopTaskRequest.builder().cluster(cluster).task(task.get().taskArn())
                    .reason("strata: agent " + agent.id() + " retired by the control plane").build());
            log.info("agent={} retired: stopped task {}", agent.id(), task.get().taskArn());
        } catch (SdkClientException | EcsException e) {
            throw failure(e, "retiring agent " + agent.id());
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
