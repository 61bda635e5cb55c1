package dev.strata.infra.compute;

import dev.strata.infra.control.ControlPlaneData;
import dev.strata.infra.control.ControlPlaneFunctions;
import dev.strata.infra.network.Network;
import dev.strata.infra.storage.StorageServices;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.services.events.EventPattern;
import software.amazon.awscdk.services.events.Rule;
import software.amazon.awscdk.services.events.targets.LambdaFunction;
import software.amazon.awscdk.services.lambda.Function;
import software.constructs.Construct;

/**
 * The warm pool's reaper: an EventBridge rule on the compute pool's "ECS Task State Change" events
 * with {@code lastStatus} STOPPED, targeting {@code dev.strata.control.pool.StoppedTaskHandler}
 * (functions), which retires the stopped task's IDLE agents unless an agent answers at the address
 * (docs/control-plane.md, "The seams on AWS"). The function runs in the control subnets with the
 * functions' security group: it probes the agents' API port.
 */
public final class PoolReaperRule extends Construct {

    public static final String HANDLER = "dev.strata.control.pool.StoppedTaskHandler::handleRequest";

    private final Function function;
    private final Rule rule;

    public PoolReaperRule(Construct scope, String id, Path lambdaBundle, Network network, StorageServices storage,
            ControlPlaneData data, String envName) {
        super(scope, id);
        function = ControlPlaneFunctions.javaFunction(this, lambdaBundle, envName, "pool-reaper", HANDLER,
                        "Strata: retires the warm pool's agents whose ECS task stopped")
                .timeout(Duration.seconds(60))
                .vpc(network.vpc())
                .vpcSubnets(network.selection(Network.CONTROL))
                .securityGroups(List.of(network.functions()))
                .environment(Map.of("STRATA_METADATA_TABLE", data.table().getTableName()))
                .build();
        data.table().grantReadWriteData(function);
        rule = Rule.Builder.create(this, "Rule")
                .description("Strata: a compute pool task stopped")
                .eventPattern(EventPattern.builder()
                        .source(List.of("aws.ecs"))
                        .detailType(List.of("ECS Task State Change"))
                        .detail(Map.of(
                                "clusterArn", List.of(storage.cluster().getClusterArn()),
                                "group", List.of("service:" + ComputePool.serviceName(envName), ComputePool.BURST_GROUP),
                                "lastStatus", List.of("STOPPED")))
                        .build())
                .targets(List.of(LambdaFunction.Builder.create(function).retryAttempts(4).build()))
                .build();
    }

    public Function function() {
        return function;
    }

    public Rule rule() {
        return rule;
    }
}
