package dev.strata.infra.compute;

import dev.strata.infra.Ports;
import dev.strata.infra.control.ControlPlaneData;
import dev.strata.infra.network.Network;
import dev.strata.infra.storage.ServiceImages;
import dev.strata.infra.storage.StorageServices;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.Duration;
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
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.constructs.Construct;

/**
 * The warm compute pool (architecture 6): {@code poolSize} ECS tasks each running the compute agent
 * with PostgreSQL 17, idle until a wake claims one. An agent registers itself in the metadata table
 * as IDLE; ECS replaces a task that exits. Computes keep no durable state (WAL is on the
 * safekeepers), so their disk is the task's ephemeral storage.
 */
public final class ComputePool extends Construct {

    public static final int CPU = 1024;
    public static final int MEMORY_MIB = 4096;
    public static final int EPHEMERAL_GIB = 50;

    private final FargateService service;

    public ComputePool(Construct scope, String id, int poolSize, Network network, StorageServices storage,
            ControlPlaneData data, ServiceImages images, String envName) {
        super(scope, id);
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
                .command(List.of("compute-agent", "--agent-port", Integer.toString(Ports.COMPUTE_AGENT),
                        "--pg-port", Integer.toString(Ports.COMPUTE_POSTGRES)))
                .environment(Map.of("STRATA_METADATA_TABLE", data.table().getTableName(),
                        "STRATA_PAGESERVER", "pageserver." + StorageServices.namespace() + ":" + Ports.PAGESERVER_PAGESERVICE))
                .secrets(Map.of("STRATA_AUTH_PUBLIC_KEYS", Secret.fromSecretsManager(data.jwtPublicKeys()),
                        "STRATA_COMPUTE_ADMIN_PASSWORD", Secret.fromSecretsManager(data.computeAdminPassword())))
                .portMappings(List.of(PortMapping.builder().containerPort(Ports.COMPUTE_POSTGRES).build(),
                        PortMapping.builder().containerPort(Ports.COMPUTE_AGENT).build()))
                .logging(LogDrivers.awsLogs(AwsLogDriverProps.builder().logGroup(logs).streamPrefix("compute").build()))
                .stopTimeout(Duration.seconds(60))
                .build());
        // The agent registers and updates its own pool item (IDLE, its address).
        data.table().grantReadWriteData(td.getTaskRole());
        service = FargateService.Builder.create(this, "Service")
                .serviceName("strata-" + envName + "-compute-pool")
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

    public FargateService service() {
        return service;
    }
}
