package dev.strata.infra.storage;

import dev.strata.infra.Ports;
import dev.strata.infra.control.ControlPlaneData;
import dev.strata.infra.network.Network;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.ArnComponents;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.RemovalPolicy;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.services.ec2.ISubnet;
import software.amazon.awscdk.services.ec2.SubnetSelection;
import software.amazon.awscdk.services.ecs.AuthorizationConfig;
import software.amazon.awscdk.services.ecs.CloudMapOptions;
import software.amazon.awscdk.services.ecs.Cluster;
import software.amazon.awscdk.services.ecs.ContainerDefinition;
import software.amazon.awscdk.services.ecs.ContainerDefinitionOptions;
import software.amazon.awscdk.services.ecs.CpuArchitecture;
import software.amazon.awscdk.services.ecs.EfsVolumeConfiguration;
import software.amazon.awscdk.services.ecs.FargateService;
import software.amazon.awscdk.services.ecs.FargateTaskDefinition;
import software.amazon.awscdk.services.ecs.LogDrivers;
import software.amazon.awscdk.services.ecs.AwsLogDriverProps;
import software.amazon.awscdk.services.ecs.MountPoint;
import software.amazon.awscdk.services.ecs.OperatingSystemFamily;
import software.amazon.awscdk.services.ecs.PortMapping;
import software.amazon.awscdk.services.ecs.RuntimePlatform;
import software.amazon.awscdk.services.ecs.Secret;
import software.amazon.awscdk.services.ecs.Volume;
import software.amazon.awscdk.services.efs.AccessPoint;
import software.amazon.awscdk.services.efs.Acl;
import software.amazon.awscdk.services.efs.CfnFileSystem;
import software.amazon.awscdk.services.efs.CfnMountTarget;
import software.amazon.awscdk.services.efs.FileSystem;
import software.amazon.awscdk.services.efs.FileSystemAttributes;
import software.amazon.awscdk.services.efs.IFileSystem;
import software.amazon.awscdk.services.efs.PerformanceMode;
import software.amazon.awscdk.services.efs.PosixUser;
import software.amazon.awscdk.services.efs.ThroughputMode;
import software.amazon.awscdk.services.iam.PolicyStatement;
import software.amazon.awscdk.services.lambda.IFunction;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.amazon.awscdk.services.servicediscovery.DnsRecordType;
import software.constructs.Construct;

/**
 * The long-running storage services on ECS Fargate (decision 0020):
 * <ul>
 *   <li>three safekeepers {@code sk-1..3}, safekeeper i an ECS service of exactly one task pinned to
 *   the storage subnet of zone i, with its own EFS One Zone file system in that zone; the file
 *   system id is in the task definition, so a replacement task mounts the same volume, and the
 *   service stops the old task before starting the new one (never two writers);</li>
 *   <li>the pageserver, one task with a regional EFS volume (a cache once history is in S3).</li>
 * </ul>
 * Peers find each other by Cloud Map names ({@code sk-1.strata.internal}).
 */
public final class StorageServices extends Construct {

    public static final int SAFEKEEPERS = 3;
    /** The uid the services run as; the access points own their directories for it. */
    public static final String SERVICE_UID = "10001";
    public static final String DATA_PATH = "/var/lib/strata";

    private final Cluster cluster;
    private final List<FargateService> safekeepers = new ArrayList<>();
    private final List<CfnFileSystem> safekeeperVolumes = new ArrayList<>();
    private final FargateService pageserver;
    private final FileSystem pageserverVolume;

    public StorageServices(Construct scope, String id, Network network, ControlPlaneData data, ServiceImages images,
            String envName) {
        super(scope, id);
        cluster = Cluster.Builder.create(this, "Cluster")
                .vpc(network.vpc())
                .clusterName(clusterName(envName))
                .containerInsightsV2(software.amazon.awscdk.services.ecs.ContainerInsights.ENABLED)
                .defaultCloudMapNamespace(software.amazon.awscdk.services.ecs.CloudMapNamespaceOptions.builder()
                        .name(namespace()).vpc(network.vpc()).build())
                .build();

        List<ISubnet> storageSubnets = network.subnets(Network.STORAGE);
        List<String> zones = network.vpc().getAvailabilityZones();
        for (int i = 1; i <= SAFEKEEPERS; i++) {
            String name = safekeeperNodeId(i);
            String cid = "Safekeeper" + i;
            ISubnet subnet = storageSubnets.get(i - 1);
            CfnFileSystem volume = CfnFileSystem.Builder.create(this, cid + "Volume")
                    .availabilityZoneName(zones.get(i - 1))
                    .encrypted(true)
                    .throughputMode("elastic")
                    .backupPolicy(CfnFileSystem.BackupPolicyProperty.builder().status("ENABLED").build())
                    .fileSystemTags(List.of(CfnFileSystem.ElasticFileSystemTagProperty.builder()
                            .key("Name").value("strata-" + envName + "-" + name).build()))
                    .build();
            volume.applyRemovalPolicy(RemovalPolicy.RETAIN);
            CfnMountTarget mount = CfnMountTarget.Builder.create(this, cid + "MountTarget")
                    .fileSystemId(volume.getRef())
                    .subnetId(subnet.getSubnetId())
                    .securityGroups(List.of(network.fileSystems().getSecurityGroupId()))
                    .build();
            IFileSystem fs = FileSystem.fromFileSystemAttributes(this, cid + "FileSystem", FileSystemAttributes.builder()
                    .fileSystemId(volume.getRef()).securityGroup(network.fileSystems()).build());
            List<String> command = new ArrayList<>(List.of("safekeeper",
                    "--node-id", name,
                    "--listen", "0.0.0.0",
                    "--data-dir", DATA_PATH + "/" + name,
                    "--http-port", Integer.toString(Ports.SAFEKEEPER_HTTP),
                    "--walsender-port", Integer.toString(Ports.SAFEKEEPER_WALSENDER)));
            for (int p = 1; p <= SAFEKEEPERS; p++) {
                if (p != i) {
                    command.add("--peer");
                    command.add("sk-" + p + "=http://sk-" + p + "." + namespace() + ":" + Ports.SAFEKEEPER_HTTP);
                }
            }
            FargateService svc = service(cid, name, images.of("safekeeper"), fs, "/" + name, 1024, 2048, command,
                    Map.of("STRATA_REPLICATION_PASSWORD", Secret.fromSecretsManager(data.replicationPassword()),
                            "STRATA_AUTH_PUBLIC_KEYS", Secret.fromSecretsManager(data.jwtPublicKeys()),
                            "STRATA_SERVICE_TOKEN", Secret.fromSecretsManager(data.safekeeperToken())),
                    // Its gauges as embedded-metric-format lines (dimensions Environment and Node),
                    // which Monitoring's quorum alarm counts per node.
                    Map.of("STRATA_NODE_ID", name, "STRATA_SAFEKEEPER_METRICS_ENVIRONMENT", envName),
                    List.of(PortMapping.builder().containerPort(Ports.SAFEKEEPER_HTTP)
                                    .protocol(software.amazon.awscdk.services.ecs.Protocol.TCP).build(),
                            PortMapping.builder().containerPort(Ports.SAFEKEEPER_HTTP)
                                    .protocol(software.amazon.awscdk.services.ecs.Protocol.UDP).build(),
                            PortMapping.builder().containerPort(Ports.SAFEKEEPER_WALSENDER).build()),
                    SubnetSelection.builder().subnets(List.of(subnet)).build(), network.safekeeper(), envName);
            svc.getNode().addDependency(mount);
            data.history().grantReadWrite(svc.getTaskDefinition().getTaskRole(), "safekeeper/*");
            safekeepers.add(svc);
            safekeeperVolumes.add(volume);
        }

        pageserverVolume = FileSystem.Builder.create(this, "PageserverVolume")
                .vpc(network.vpc())
                .vpcSubnets(network.selection(Network.STORAGE))
                .securityGroup(network.fileSystems())
                .encrypted(true)
                .performanceMode(PerformanceMode.GENERAL_PURPOSE)
                .throughputMode(ThroughputMode.ELASTIC)
                .enableAutomaticBackups(false)
                .removalPolicy(RemovalPolicy.RETAIN)
                .build();
        pageserver = service("Pageserver", "pageserver", images.of("pageserver"), pageserverVolume, "/pageserver",
                2048, 8192,
                List.of("pageserver", "--data-dir", DATA_PATH + "/pageserver", "--listen", "0.0.0.0",
                        "--http-port", Integer.toString(Ports.PAGESERVER_HTTP),
                        "--pageservice-port", Integer.toString(Ports.PAGESERVER_PAGESERVICE)),
                Map.of("STRATA_AUTH_PUBLIC_KEYS", Secret.fromSecretsManager(data.jwtPublicKeys())),
                // The ingest lag and upload backlog as embedded-metric-format lines in its log stream,
                // which CloudWatch Logs turns into the metrics Monitoring's alarms watch.
                Map.of("STRATA_PAGESERVER_REMOTE_STORAGE_BUCKET", data.history().getBucketName(),
                        "STRATA_PAGESERVER_METRICS_ENVIRONMENT", envName),
                List.of(PortMapping.builder().containerPort(Ports.PAGESERVER_HTTP).build(),
                        PortMapping.builder().containerPort(Ports.PAGESERVER_PAGESERVICE).build()),
                network.selection(Network.STORAGE), network.pageserver(), envName);
        pageserver.getNode().addDependency(pageserverVolume.getMountTargetsAvailable());
        data.history().grantReadWrite(pageserver.getTaskDefinition().getTaskRole(), "pageserver/*");
    }

    /** The node id of safekeeper {@code i} (1 to 3): its {@code --node-id} and its metrics' {@code Node}. */
    public static String safekeeperNodeId(int i) {
        return "sk-" + i;
    }

    private FargateService service(String cid, String name, software.amazon.awscdk.services.ecs.ContainerImage image,
            IFileSystem fs, String apPath, int cpu, int memory, List<String> command, Map<String, Secret> secrets,
            Map<String, String> env, List<PortMapping> ports, SubnetSelection subnets,
            software.amazon.awscdk.services.ec2.SecurityGroup sg, String envName) {
        AccessPoint ap = AccessPoint.Builder.create(this, cid + "AccessPoint")
                .fileSystem(fs)
                .path(apPath)
                .posixUser(PosixUser.builder().uid(SERVICE_UID).gid(SERVICE_UID).build())
                .createAcl(Acl.builder().ownerUid(SERVICE_UID).ownerGid(SERVICE_UID).permissions("700").build())
                .build();
        FargateTaskDefinition td = FargateTaskDefinition.Builder.create(this, cid + "Task")
                .family("strata-" + envName + "-" + name)
                .cpu(cpu).memoryLimitMiB(memory)
                .runtimePlatform(RuntimePlatform.builder().cpuArchitecture(CpuArchitecture.X86_64)
                        .operatingSystemFamily(OperatingSystemFamily.LINUX).build())
                .build();
        td.addVolume(Volume.builder().name("data").efsVolumeConfiguration(EfsVolumeConfiguration.builder()
                .fileSystemId(fs.getFileSystemId())
                .transitEncryption("ENABLED")
                .authorizationConfig(AuthorizationConfig.builder().accessPointId(ap.getAccessPointId()).iam("ENABLED").build())
                .build()).build());
        LogGroup logs = LogGroup.Builder.create(this, cid + "Logs")
                .logGroupName("/strata/" + envName + "/" + name)
                .retention(RetentionDays.ONE_MONTH)
                .removalPolicy(RemovalPolicy.DESTROY)
                .build();
        Map<String, String> environment = new LinkedHashMap<>(env);
        ContainerDefinition c = td.addContainer(name, ContainerDefinitionOptions.builder()
                .image(image)
                .command(command)
                .environment(environment)
                .secrets(secrets)
                .portMappings(ports)
                .logging(LogDrivers.awsLogs(AwsLogDriverProps.builder().logGroup(logs).streamPrefix(name).build()))
                .stopTimeout(Duration.seconds(60))
                .build());
        c.addMountPoints(MountPoint.builder().sourceVolume("data").containerPath(DATA_PATH + apPath).readOnly(false).build());
        fs.grant(td.getTaskRole(), "elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite");
        return FargateService.Builder.create(this, cid + "Service")
                .serviceName("strata-" + envName + "-" + name)
                .cluster(cluster)
                .taskDefinition(td)
                .circuitBreaker(software.amazon.awscdk.services.ecs.DeploymentCircuitBreaker.builder().rollback(true).build())
                .desiredCount(1)
                // One writer per volume: stop the old task before starting its replacement.
                .minHealthyPercent(0)
                .maxHealthyPercent(100)
                .vpcSubnets(subnets)
                .securityGroups(List.of(sg))
                .assignPublicIp(false)
                .cloudMapOptions(CloudMapOptions.builder().name(name).dnsRecordType(DnsRecordType.A)
                        .dnsTtl(Duration.seconds(10)).build())
                .build();
    }

    /** The ECS cluster of an environment (storage services and the compute pool). */
    public static String clusterName(String envName) {
        return "strata-" + envName;
    }

    /**
     * Lets {@code fn} find tasks of an environment's cluster and act on them: {@code ecs:ListTasks}
     * (it has no resource of its own; the condition pins the cluster) and {@code taskActions} on the
     * cluster's tasks (their ids are generated: every task of this cluster, none outside it). Returns
     * the condition, for the caller's statements on other ECS resources used in the cluster.
     */
    public static Map<String, Object> grantClusterTasks(IFunction fn, String envName, List<String> taskActions) {
        Stack stack = Stack.of(fn);
        String cluster = stack.formatArn(ArnComponents.builder().service("ecs").resource("cluster")
                .resourceName(clusterName(envName)).build());
        String tasks = stack.formatArn(ArnComponents.builder().service("ecs").resource("task")
                .resourceName(clusterName(envName) + "/*").build());
        Map<String, Object> inCluster = Map.of("ArnEquals", Map.of("ecs:cluster", cluster));
        fn.addToRolePolicy(PolicyStatement.Builder.create().actions(List.of("ecs:ListTasks")).resources(List.of("*"))
                .conditions(inCluster).build());
        fn.addToRolePolicy(PolicyStatement.Builder.create().actions(taskActions).resources(List.of(tasks))
                .conditions(inCluster).build());
        return inCluster;
    }

    /** The private DNS namespace the services register in. */
    public static String namespace() {
        return "strata.internal";
    }

    public Cluster cluster() { return cluster; }
    public List<FargateService> safekeepers() { return safekeepers; }
    public List<CfnFileSystem> safekeeperVolumes() { return safekeeperVolumes; }
    public FargateService pageserver() { return pageserver; }
    public FileSystem pageserverVolume() { return pageserverVolume; }
}
