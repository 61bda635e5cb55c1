package dev.strata.infra.network;

import dev.strata.infra.Ports;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.services.ec2.FlowLogDestination;
import software.amazon.awscdk.services.ec2.FlowLogOptions;
import software.amazon.awscdk.services.ec2.FlowLogTrafficType;
import software.amazon.awscdk.services.ec2.GatewayVpcEndpointAwsService;
import software.amazon.awscdk.services.ec2.GatewayVpcEndpointOptions;
import software.amazon.awscdk.services.ec2.ISubnet;
import software.amazon.awscdk.services.ec2.IpAddresses;
import software.amazon.awscdk.services.ec2.Peer;
import software.amazon.awscdk.services.ec2.Port;
import software.amazon.awscdk.services.ec2.SecurityGroup;
import software.amazon.awscdk.services.ec2.SubnetConfiguration;
import software.amazon.awscdk.services.ec2.SubnetSelection;
import software.amazon.awscdk.services.ec2.SubnetType;
import software.amazon.awscdk.services.ec2.Vpc;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.constructs.Construct;

/**
 * The VPC and the security groups: the flows of docs/aws.md ("Flows") and nothing else.
 *
 * <p>Subnet groups: {@code public} (the NLB and the NAT gateway only), {@code storage}
 * (safekeepers, pageserver, their EFS mount targets), {@code compute} (the warm pool, large: every
 * compute is a task with its own address), {@code control} (the proxy and the Lambda functions).
 * Every security group starts with no egress; each rule below is one documented flow.
 */
public final class Network extends Construct {

    /** Subnet group names. */
    public static final String PUBLIC = "public";
    public static final String STORAGE = "storage";
    public static final String COMPUTE = "compute";
    public static final String CONTROL = "control";

    private final Vpc vpc;
    private final SecurityGroup nlb;
    private final SecurityGroup proxy;
    private final SecurityGroup compute;
    private final SecurityGroup safekeeper;
    private final SecurityGroup pageserver;
    private final SecurityGroup functions;
    private final SecurityGroup fileSystems;

    public Network(Construct scope, String id, int azCount) {
        super(scope, id);
        LogGroup flowLogs = LogGroup.Builder.create(this, "FlowLogs").retention(RetentionDays.THREE_MONTHS).build();
        vpc = Vpc.Builder.create(this, "Vpc")
                .ipAddresses(IpAddresses.cidr("10.40.0.0/16"))
                .maxAzs(azCount)
                .natGateways(1)
                .subnetConfiguration(List.of(
                        SubnetConfiguration.builder().name(PUBLIC).subnetType(SubnetType.PUBLIC).cidrMask(24).build(),
                        SubnetConfiguration.builder().name(STORAGE).subnetType(SubnetType.PRIVATE_WITH_EGRESS).cidrMask(24).build(),
                        SubnetConfiguration.builder().name(COMPUTE).subnetType(SubnetType.PRIVATE_WITH_EGRESS).cidrMask(20).build(),
                        SubnetConfiguration.builder().name(CONTROL).subnetType(SubnetType.PRIVATE_WITH_EGRESS).cidrMask(22).build()))
                .gatewayEndpoints(Map.of(
                        "S3", GatewayVpcEndpointOptions.builder().service(GatewayVpcEndpointAwsService.S3).build(),
                        "DynamoDb", GatewayVpcEndpointOptions.builder().service(GatewayVpcEndpointAwsService.DYNAMODB).build()))
                .flowLogs(Map.of("All", FlowLogOptions.builder()
                        .destination(FlowLogDestination.toCloudWatchLogs(flowLogs))
                        .trafficType(FlowLogTrafficType.ALL).build()))
                .build();

        nlb = group("Nlb", "the network load balancer of the proxy, PostgreSQL clients from anywhere on the proxy port only");
        proxy = group("Proxy", "the wake-on-connect proxy tasks");
        compute = group("Compute", "warm pool computes: PostgreSQL and the compute agent");
        safekeeper = group("Safekeeper", "the three safekeepers");
        pageserver = group("Pageserver", "the pageserver");
        functions = group("Functions", "the control plane Lambda functions");
        fileSystems = group("FileSystems", "the EFS mount targets of the volumes of the storage services");

        // Clients -> NLB -> proxy: the only flow from outside the VPC.
        nlb.addIngressRule(Peer.anyIpv4(), Port.tcp(Ports.PROXY_CLIENT), "PostgreSQL clients (TLS, SNI) from the internet");
        flow(nlb, proxy, Port.tcp(Ports.PROXY_CLIENT), "client connections to the proxy");
        // Proxy -> compute: the byte pipe after wake.
        flow(proxy, compute, Port.tcp(Ports.COMPUTE_POSTGRES), "relayed client connections");
        // Safekeepers connect to the compute as replication clients (architecture 2).
        flow(safekeeper, compute, Port.tcp(Ports.COMPUTE_POSTGRES), "WAL streaming (safekeepers are replication clients)");
        // Compute (its agent: election, status) -> safekeepers' management API.
        flow(compute, safekeeper, Port.tcp(Ports.SAFEKEEPER_HTTP), "election and status (compute token)");
        // Compute -> page service (basebackup, GetPage@LSN).
        flow(compute, pageserver, Port.tcp(Ports.PAGESERVER_PAGESERVICE), "basebackup and pages (compute token)");
        // Pageserver WAL receivers -> safekeeper walsenders.
        flow(pageserver, safekeeper, Port.tcp(Ports.SAFEKEEPER_WALSENDER), "committed WAL to the pageserver (SCRAM)");
        // Safekeeper peers: peer recovery (HTTP) and signed position datagrams (UDP), decision 0006.
        flow(safekeeper, safekeeper, Port.tcp(Ports.SAFEKEEPER_HTTP), "peer recovery between safekeepers");
        flow(safekeeper, safekeeper, Port.udp(Ports.SAFEKEEPER_HTTP), "signed position datagrams between safekeepers");
        // Control plane functions -> storage nodes and compute agents.
        flow(functions, safekeeper, Port.tcp(Ports.SAFEKEEPER_HTTP), "timelines and elections (safekeeperdata token)");
        flow(functions, pageserver, Port.tcp(Ports.PAGESERVER_HTTP), "timelines (pageserverapi token)");
        flow(functions, compute, Port.tcp(Ports.COMPUTE_AGENT), "start and stop Postgres through the agent");
        flow(functions, compute, Port.tcp(Ports.COMPUTE_POSTGRES), "check-activity reads pg_stat_activity");
        // Volumes.
        flow(safekeeper, fileSystems, Port.tcp(Ports.NFS), "safekeeper volumes (EFS)");
        flow(pageserver, fileSystems, Port.tcp(Ports.NFS), "pageserver volume (EFS)");
        // AWS APIs (S3, DynamoDB through gateway endpoints; Step Functions, Secrets Manager, ECR,
        // CloudWatch through the NAT gateway): HTTPS out, nothing in.
        for (SecurityGroup g : List.of(proxy, compute, safekeeper, pageserver, functions)) {
            g.addEgressRule(Peer.anyIpv4(), Port.tcp(Ports.HTTPS), "AWS APIs over HTTPS");
        }
    }

    private SecurityGroup group(String id, String description) {
        return SecurityGroup.Builder.create(this, id).vpc(vpc).description("Strata: " + description)
                .allowAllOutbound(false).build();
    }

    /** One flow: egress on the client, ingress on the server, both naming the other group. */
    private static void flow(SecurityGroup from, SecurityGroup to, Port port, String why) {
        if (from == to) {
            from.addIngressRule(from, port, why);
            from.addEgressRule(from, port, why);
            return;
        }
        to.getConnections().allowFrom(from, port, why);
    }

    public Vpc vpc() {
        return vpc;
    }

    /** The subnets of one group, one per availability zone, in the VPC's zone order. */
    public List<ISubnet> subnets(String group) {
        return vpc.selectSubnets(SubnetSelection.builder().subnetGroupName(group).build()).getSubnets();
    }

    public SubnetSelection selection(String group) {
        return SubnetSelection.builder().subnetGroupName(group).build();
    }

    public SecurityGroup nlb() { return nlb; }
    public SecurityGroup proxy() { return proxy; }
    public SecurityGroup compute() { return compute; }
    public SecurityGroup safekeeper() { return safekeeper; }
    public SecurityGroup pageserver() { return pageserver; }
    public SecurityGroup functions() { return functions; }
    public SecurityGroup fileSystems() { return fileSystems; }
}
