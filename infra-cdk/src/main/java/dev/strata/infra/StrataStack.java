package dev.strata.infra;

import dev.strata.infra.compute.ComputePool;
import dev.strata.infra.compute.PoolReaperRule;
import dev.strata.infra.control.ControlPlaneData;
import dev.strata.infra.control.ControlPlaneFunctions;
import dev.strata.infra.control.Workflows;
import dev.strata.infra.monitoring.Monitoring;
import dev.strata.infra.nag.NagRules;
import dev.strata.infra.network.Network;
import dev.strata.infra.control.ServiceKeysResource;
import dev.strata.infra.proxy.ProxyService;
import dev.strata.infra.storage.ServiceImages;
import dev.strata.infra.storage.StorageServices;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awscdk.Fn;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.Tags;
import software.constructs.Construct;

/** One Strata environment: every construct, wired together (docs/aws.md). */
public final class StrataStack extends Stack {

    private final StrataStackProps props;
    private final Network network;
    private final ControlPlaneData data;
    private final StorageServices storage;
    private final ControlPlaneFunctions functions;
    private final Workflows workflows;
    private final ComputePool computePool;
    private final ProxyService proxy;
    private final ServiceKeysResource serviceKeys;
    private final PoolReaperRule poolReaper;
    private final Monitoring monitoring;

    public StrataStack(Construct scope, String id, StackProps stackProps, StrataStackProps props) {
        super(scope, id, stackProps);
        this.props = props;
        Tags.of(this).add("strata:env", props.envName());
        ServiceImages images = new ServiceImages(props.repoRoot());
        network = new Network(this, "Network", props.azCount());
        data = new ControlPlaneData(this, "Data", props.envName());
        serviceKeys = new ServiceKeysResource(this, "ServiceKeys", props.lambdaBundle(), data, props.envName());
        storage = new StorageServices(this, "Storage", network, data, images, props.envName());
        functions = new ControlPlaneFunctions(this, "Functions", props.lambdaBundle(), network, data, props.envName());
        workflows = new Workflows(this, "Workflows", props.repoRoot(), functions, props.envName());
        computePool = new ComputePool(this, "ComputePool", props.computePoolSize(), network, storage, data, images,
                props.envName());
        computePool.letLaunchOnDemand(functions.functions().get("strata-claim-agent"), props.computeBurstMax());
        poolReaper = new PoolReaperRule(this, "PoolReaper", props.lambdaBundle(), network, storage, data,
                props.envName());
        proxy = new ProxyService(this, "Proxy", props, network, storage, data, workflows, images);
        monitoring = new Monitoring(this, "Monitoring", props.envName(), storage, workflows, functions);
        // Every service reads the key set (and the safekeepers their token) at start: none starts
        // before the deploy has issued them.
        storage.safekeepers().forEach(s -> s.getNode().addDependency(serviceKeys.resource()));
        storage.pageserver().getNode().addDependency(serviceKeys.resource());
        computePool.service().getNode().addDependency(serviceKeys.resource());
        proxy.service().getNode().addDependency(serviceKeys.resource());
        NagRules.suppress(this);
    }

    /**
     * The zones the VPC spans: the first {@code azCount} of the region's zones, as
     * {@code Fn::GetAZs} tokens. Without this an environment-agnostic stack gets only two zones,
     * and an environment-bound one needs a context lookup (an AWS call) at synth.
     */
    @Override
    public List<String> getAvailabilityZones() {
        List<String> zones = new ArrayList<>();
        int n = props == null ? 3 : props.azCount();
        for (int i = 0; i < n; i++) {
            zones.add(Fn.select(i, Fn.getAzs()));
        }
        return zones;
    }

    public StrataStackProps props() { return props; }
    public Network network() { return network; }
    public ControlPlaneData data() { return data; }
    public StorageServices storage() { return storage; }
    public ControlPlaneFunctions functions() { return functions; }
    public Workflows workflows() { return workflows; }
    public ComputePool computePool() { return computePool; }
    public ProxyService proxy() { return proxy; }
    public ServiceKeysResource serviceKeys() { return serviceKeys; }
    public PoolReaperRule poolReaper() { return poolReaper; }
    public Monitoring monitoring() { return monitoring; }
}
