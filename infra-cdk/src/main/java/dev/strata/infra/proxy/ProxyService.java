package dev.strata.infra.proxy;

import dev.strata.infra.Ports;
import dev.strata.infra.StrataStackProps;
import dev.strata.infra.control.ControlPlaneData;
import dev.strata.infra.control.Workflows;
import dev.strata.infra.network.Network;
import dev.strata.infra.storage.ServiceImages;
import dev.strata.infra.storage.StorageServices;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.CfnOutput;
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
import software.amazon.awscdk.services.elasticloadbalancingv2.AddNetworkTargetsProps;
import software.amazon.awscdk.services.elasticloadbalancingv2.BaseNetworkListenerProps;
import software.amazon.awscdk.services.elasticloadbalancingv2.HealthCheck;
import software.amazon.awscdk.services.elasticloadbalancingv2.NetworkListener;
import software.amazon.awscdk.services.elasticloadbalancingv2.NetworkLoadBalancer;
import software.amazon.awscdk.services.elasticloadbalancingv2.Protocol;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.amazon.awscdk.services.route53.ARecord;
import software.amazon.awscdk.services.route53.HostedZone;
import software.amazon.awscdk.services.route53.HostedZoneAttributes;
import software.amazon.awscdk.services.route53.IHostedZone;
import software.amazon.awscdk.services.route53.RecordTarget;
import software.amazon.awscdk.services.route53.targets.LoadBalancerTarget;
import software.amazon.awscdk.services.secretsmanager.ISecret;
import software.constructs.Construct;

/**
 * The wake-on-connect proxy: an ECS service in the control subnets behind an internet-facing
 * Network Load Balancer. The NLB passes TCP through: PostgreSQL clients first send an
 * SSLRequest in clear and then do TLS, which an NLB TLS listener cannot speak, and the proxy needs
 * the SNI name to route. The proxy terminates TLS with the wildcard certificate from
 * {@code certificateSecretArn}; {@code *.<domainName>} points at the NLB.
 */
public final class ProxyService extends Construct {

    public static final int TASKS = 2;

    private final FargateService service;
    private final NetworkLoadBalancer nlb;
    private final NetworkListener listener;

    public ProxyService(Construct scope, String id, StrataStackProps props, Network network, StorageServices storage,
            ControlPlaneData data, Workflows workflows, ServiceImages images) {
        super(scope, id);
        String envName = props.envName();
        ISecret certificate = software.amazon.awscdk.services.secretsmanager.Secret.fromSecretCompleteArn(
                this, "Certificate", props.certificateSecretArn());
        FargateTaskDefinition td = FargateTaskDefinition.Builder.create(this, "Task")
                .family("strata-" + envName + "-proxy")
                .cpu(512).memoryLimitMiB(1024)
                .runtimePlatform(RuntimePlatform.builder().cpuArchitecture(CpuArchitecture.X86_64)
                        .operatingSystemFamily(OperatingSystemFamily.LINUX).build())
                .build();
        LogGroup logs = LogGroup.Builder.create(this, "Logs")
                .logGroupName("/strata/" + envName + "/proxy")
                .retention(RetentionDays.ONE_MONTH)
                .removalPolicy(RemovalPolicy.DESTROY)
                .build();
        td.addContainer("proxy", ContainerDefinitionOptions.builder()
                .image(images.of("proxy"))
                // proxy-aws: AwsProxyMain, the proxy over the control plane (decision 0034): endpoints and
                // compute addresses from the metadata table, wakes and idle suspends as executions of the
                // wake and suspend state machines.
                .command(List.of("proxy-aws", "--listen", "0.0.0.0", "--port", Integer.toString(Ports.PROXY_CLIENT),
                        "--status-port", Integer.toString(Ports.PROXY_STATUS)))
                .environment(Map.of(
                        "STRATA_DOMAIN", props.domainName(),
                        "STRATA_METADATA_TABLE", data.table().getTableName(),
                        // StepFunctionsLauncher.arnVariable(WAKE / SUSPEND)
                        "STRATA_SFN_WAKE", workflows.machines().get("wake").getStateMachineArn(),
                        "STRATA_SFN_SUSPEND", workflows.machines().get("suspend").getStateMachineArn(),
                        // Connections, refusals and wakes as embedded-metric-format lines (Monitoring).
                        "STRATA_PROXY_METRICS_ENVIRONMENT", envName))
                .secrets(Map.of(
                        "STRATA_TLS_CERTIFICATE", Secret.fromSecretsManager(certificate, "certificate"),
                        "STRATA_TLS_PRIVATE_KEY", Secret.fromSecretsManager(certificate, "privateKey")))
                .portMappings(List.of(PortMapping.builder().containerPort(Ports.PROXY_CLIENT).build()))
                .logging(LogDrivers.awsLogs(AwsLogDriverProps.builder().logGroup(logs).streamPrefix("proxy").build()))
                .stopTimeout(Duration.seconds(30))
                .build());
        // The proxy schedules wakes and suspends through the control-plane API: it writes the operation
        // item (SCHEDULED, or FAILED if the execution could not be started) and polls it until the
        // workflow ends; it reads endpoints. It never calls DescribeExecution (the item is the truth).
        data.table().grantReadWriteData(td.getTaskRole());
        workflows.machines().get("wake").grantStartExecution(td.getTaskRole());
        workflows.machines().get("suspend").grantStartExecution(td.getTaskRole());

        service = FargateService.Builder.create(this, "Service")
                .serviceName("strata-" + envName + "-proxy")
                .cluster(storage.cluster())
                .taskDefinition(td)
                .desiredCount(TASKS)
                .circuitBreaker(software.amazon.awscdk.services.ecs.DeploymentCircuitBreaker.builder().rollback(true).build())
                .minHealthyPercent(100)
                .maxHealthyPercent(200)
                .vpcSubnets(network.selection(Network.CONTROL))
                .securityGroups(List.of(network.proxy()))
                .assignPublicIp(false)
                .build();

        nlb = NetworkLoadBalancer.Builder.create(this, "Nlb")
                .vpc(network.vpc())
                .internetFacing(true)
                .vpcSubnets(network.selection(Network.PUBLIC))
                .securityGroups(List.of(network.nlb()))
                .crossZoneEnabled(true)
                .build();
        listener = nlb.addListener("Postgres", BaseNetworkListenerProps.builder()
                .port(Ports.PROXY_CLIENT).protocol(Protocol.TCP).build());
        listener.addTargets("Proxy", AddNetworkTargetsProps.builder()
                .port(Ports.PROXY_CLIENT)
                .protocol(Protocol.TCP)
                .targets(List.of(service))
                .deregistrationDelay(Duration.seconds(60))
                .healthCheck(HealthCheck.builder().protocol(Protocol.TCP).interval(Duration.seconds(10))
                        .healthyThresholdCount(2).unhealthyThresholdCount(2).build())
                .build());

        if (props.hostedZoneId().isPresent()) {
            IHostedZone zone = HostedZone.fromHostedZoneAttributes(this, "Zone", HostedZoneAttributes.builder()
                    .hostedZoneId(props.hostedZoneId().get()).zoneName(props.domainName()).build());
            ARecord.Builder.create(this, "WildcardRecord")
                    .zone(zone)
                    .recordName(props.wildcardHost())
                    .target(RecordTarget.fromAlias(new LoadBalancerTarget(nlb)))
                    .build();
        }
        CfnOutput.Builder.create(this, "LoadBalancerDns").value(nlb.getLoadBalancerDnsName())
                .description("Point " + props.wildcardHost() + " here (done for you when hostedZoneId is given)").build();
    }

    public FargateService service() { return service; }
    public NetworkLoadBalancer nlb() { return nlb; }
    public NetworkListener listener() { return listener; }
}
