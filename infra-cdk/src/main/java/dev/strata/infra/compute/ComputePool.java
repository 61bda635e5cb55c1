package dev.strata.infra.compute;

import dev.strata.infra.Ports;
import dev.strata.infra.control.ControlPlaneData;
import dev.strata.infra.network.Network;
import dev.strata.infra.storage.ServiceImages;
import dev.strata.infra.storage.StorageServices;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.ArnComponents;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.RemovalPolicy;
import software.amazon.awscdk.services.ecs.AwsLogDriverProps;
import software.amazon.awscdk.services.ecs.ContainerDefinitionOptions;
import software.amazon.awscdk.services.ecs.CpuArchitecture;
import software.amazon.awscdk.services.ecs.FargateService;
import software.amazon.awscdk.services.ecs.FargateTaskDefinition;
import software.amazon.awscdk.services.ecs.LogDrivers;
import software.amazon.awscdk.services.ecs.OperatingSystemFamily;
import software.amazon.awscdk.services.ecs.PortMapping;
import software.amazon.awscdk.services.ecs.RuntimePlatform;
import software.amazon.awscdk.services.ecs.Secret;
import software.amazon.awscdk.services.iam.PolicyStatement;
import software.amazon.awscdk.services.lambda.Function;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.constructs.Construct;

/**
 * The warm compute pool (architecture 6): {@code poolSize} ECS tasks each running the compute agent
 * with PostgreSQL 17 ({@code dev.strata.compute.agent.ComputeAgentMain}), idle until a wake claims
 * one; ECS replaces a task that exits. Computes keep no durable state (WAL is on the safekeepers),
 * so their disk is the task's ephemeral storage. Each agent joins the warm pool in the metadata table
 * at start (IDLE, at its task's private IP) and leaves it at a clean stop.
 */
public final class ComputePool extends Construct {

    public static final int CPU = 1024;
    public static final int MEMORY_MIB = 4096;
    public static final int EPHEMERAL_GIB = 50;

    /**
     * Minutes an on-demand agent stays IDLE in the pool before it leaves and its task stops
     * (compute-node {@code --idle-exit-minutes}): long enough to serve the same burst's next wakes.
     */
    public static final int BURST_IDLE_MINUTES = 15;
    /** The ECS task group of on-demand tasks (functions {@code EcsPoolLauncher.BURST_GROUP}). */
    public static final String BURST_GROUP = "strata-burst";

    private final FargateService service;
    private final FargateTaskDefinition taskDefinition;
    private final Network network;
    private final String envName;

    public ComputePool(Construct scope, String id, int poolSize, Network network, StorageServices storage,
            ControlPlaneData data, ServiceImages images, String envName) {
        super(scope, id);
        this.network = network;
        this.envName = envName;
        FargateTaskDefinition td = FargateTaskDefinition.Builder.create(this, "Task")
                .family("strata-" + envName + "-compute")
                .cpu(CPU).memoryLimitMiB(MEMORY_MIB).ephemeralStorageGiB(EPHEMERAL_GIB)
                .runtimePlatform(RuntimePlatform.builder().cpuArchitecture(CpuArchitecture.X86_64)
                        .operatingSystemFamily(OperatingSystemFamily.LINUX).build())
                .build();
        LogGroup logs = LogGroup.Builder.create(this, "Logs")
                .logGroupName("/strata/" + envName + "/compute")
                .retention(RetentionDays.ONE_MONTH)
                .removalPolicy(RemovalPolicy.DESTROY)
                .build();
        td.addContainer("compute", ContainerDefinitionOptions.builder()
                .image(images.of("compute"))
                .command(agentCommand(network.vpc().getVpcCidrBlock()))
                // The warm pool in the metadata: the agent registers itself IDLE at its task's private
                // IP (PoolRegistration) so the wake workflow's ClaimAgent finds it.
                // and reports its gauges as embedded-metric lines in its log stream (AgentGauges).
                .environment(Map.of("STRATA_METADATA_TABLE", data.table().getTableName(),
                        "STRATA_COMPUTE_METRICS_ENVIRONMENT", envName))
                // The superuser the agent (slots, activity) and the safekeepers (replication) log in as;
                // the image's entry point passes the JWK Set as a file (--auth-public-keys).
                .secrets(Map.of("STRATA_AUTH_PUBLIC_KEYS", Secret.fromSecretsManager(data.jwtPublicKeys()),
                        "STRATA_COMPUTE_PASSWORD", Secret.fromSecretsManager(data.computeAdminPassword())))
                .portMappings(List.of(PortMapping.builder().containerPort(Ports.COMPUTE_POSTGRES).build(),
                        PortMapping.builder().containerPort(Ports.COMPUTE_AGENT).build()))
                .logging(LogDrivers.awsLogs(AwsLogDriverProps.builder().logGroup(logs).streamPrefix("compute").build()))
                .stopTimeout(Duration.seconds(60))
                .build());
        // Its own item in the pool: GetItem, PutItem and DeleteItem, conditional on its version.
        data.table().grantReadWriteData(td.getTaskRole());
        taskDefinition = td;
        service = FargateService.Builder.create(this, "Service")
                .serviceName(serviceName(envName))
                .cluster(storage.cluster())
                .taskDefinition(td)
                .circuitBreaker(software.amazon.awscdk.services.ecs.DeploymentCircuitBreaker.builder().rollback(true).build())
                .desiredCount(poolSize)
                .minHealthyPercent(100)
                .maxHealthyPercent(200)
                .vpcSubnets(network.selection(Network.COMPUTE))
                .securityGroups(List.of(network.compute()))
                .assignPublicIp(false)
                .build();
    }

    /**
     * The agent's command line ({@code dev.strata.compute.agent.ComputeAgentMain}): its API on
     * {@link Ports#COMPUTE_AGENT} for the control plane's steps, Postgres on
     * {@link Ports#COMPUTE_POSTGRES} for the proxy and the safekeepers of the VPC ({@code clientCidr});
     * the entry point adds {@code --advertise-host} (the task's address) and the key file.
     */
    public static List<String> agentCommand(String clientCidr) {
        List<String> command = new java.util.ArrayList<>(List.of("compute-agent",
                "--listen", "0.0.0.0", "--port", Integer.toString(Ports.COMPUTE_AGENT),
                "--compute-listen", "0.0.0.0", "--compute-port", Integer.toString(Ports.COMPUTE_POSTGRES),
                "--client-network", clientCidr,
                "--data-dir", "/var/lib/strata/compute",
                "--pageserver", "pageserver." + StorageServices.namespace() + ":" + Ports.PAGESERVER_PAGESERVICE));
        for (int i = 1; i <= StorageServices.SAFEKEEPERS; i++) {
            command.add("--safekeeper");
            command.add("sk-" + i + "=http://sk-" + i + "." + StorageServices.namespace() + ":" + Ports.SAFEKEEPER_HTTP);
        }
        return List.copyOf(command);
    }

    /**
     * Lets {@code claimAgent} (the wake's ClaimAgent function) start on-demand tasks of this pool's
     * task definition outside the service when the pool has no IDLE agent, at most {@code burstMax}
     * at once (functions {@code EcsPoolLauncher}, {@code BurstSettings}): the settings in its
     * environment; RunTask of this family in the environment's cluster only; PassRole of the task's
     * two roles to ECS tasks only; ListTasks and DescribeTasks to find the task it started.
     */
    public void letLaunchOnDemand(Function claimAgent, int burstMax) {
        claimAgent.addEnvironment("STRATA_ECS_CLUSTER", StorageServices.clusterName(envName));
        claimAgent.addEnvironment("STRATA_COMPUTE_POOL_SERVICE", serviceName(envName));
        claimAgent.addEnvironment("STRATA_COMPUTE_TASK_FAMILY", taskDefinition.getFamily());
        claimAgent.addEnvironment("STRATA_COMPUTE_SUBNETS",
                String.join(",", network.vpc().selectSubnets(network.selection(Network.COMPUTE)).getSubnetIds()));
        claimAgent.addEnvironment("STRATA_COMPUTE_SECURITY_GROUPS", network.compute().getSecurityGroupId());
        claimAgent.addEnvironment("STRATA_COMPUTE_BURST_MAX", Integer.toString(burstMax));
        claimAgent.addEnvironment("STRATA_COMPUTE_BURST_IDLE_MINUTES", Integer.toString(BURST_IDLE_MINUTES));
        if (burstMax == 0) {
            return; // the function reads 0 as "off" and never calls RunTask: no grant
        }
        Map<String, Object> inCluster = StorageServices.grantClusterTasks(claimAgent, envName,
                List.of("ecs:DescribeTasks"));
        String revisions = Stack.of(this).formatArn(ArnComponents.builder().service("ecs").resource("task-definition")
                .resourceName(taskDefinition.getFamily() + ":*").build());
        claimAgent.addToRolePolicy(PolicyStatement.Builder.create().actions(List.of("ecs:RunTask"))
                .resources(List.of(revisions)).conditions(inCluster).build());
        claimAgent.addToRolePolicy(PolicyStatement.Builder.create().actions(List.of("iam:PassRole"))
                .resources(List.of(taskDefinition.getTaskRole().getRoleArn(),
                        taskDefinition.obtainExecutionRole().getRoleArn()))
                .conditions(Map.of("StringEquals", Map.of("iam:PassedToService", "ecs-tasks.amazonaws.com")))
                .build());
    }

    /** The pool's ECS service in an environment (the control plane stops retired agents' tasks in it). */
    public static String serviceName(String envName) {
        return "strata-" + envName + "-compute-pool";
    }

    public FargateService service() {
        return service;
    }
}
