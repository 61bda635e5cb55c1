package dev.strata.infra.control;

import dev.strata.infra.Ports;
import dev.strata.infra.compute.ComputePool;
import dev.strata.infra.network.Network;
import dev.strata.infra.storage.StorageServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.RemovalPolicy;
import software.amazon.awscdk.services.lambda.Alias;
import software.amazon.awscdk.services.lambda.Architecture;
import software.amazon.awscdk.services.lambda.Code;
import software.amazon.awscdk.services.lambda.Function;
import software.amazon.awscdk.services.lambda.Runtime;
import software.amazon.awscdk.services.lambda.SnapStartConf;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.constructs.Construct;

/**
 * One Lambda function per control-plane step ({@link Handlers}): Java 21, SnapStart on published
 * versions, an alias {@value #ALIAS} on the current version, in the VPC's control subnets (they
 * call storage nodes and compute agents), each with its own role and log group, and only the
 * grants its step needs.
 */
public final class ControlPlaneFunctions extends Construct {

    /** The alias every function gets; it follows each deployment's new version. */
    public static final String ALIAS = "live";
    public static final int MEMORY_MIB = 1024;

    private final Map<String, Function> functions = new LinkedHashMap<>();
    private final Map<String, Alias> aliases = new LinkedHashMap<>();

    public ControlPlaneFunctions(Construct scope, String id, Path lambdaBundle, Network network, ControlPlaneData data,
            String envName) {
        super(scope, id);
        Code code = Code.fromAsset(checkBundle(lambdaBundle).toString());
        for (Handlers h : Handlers.ALL) {
            String cid = constructId(h.step());
            LogGroup logs = LogGroup.Builder.create(this, cid + "Logs")
                    .logGroupName("/strata/" + envName + "/lambda/" + h.functionName())
                    .retention(RetentionDays.ONE_MONTH)
                    .removalPolicy(RemovalPolicy.DESTROY)
                    .build();
            Map<String, String> env = new LinkedHashMap<>();
            env.put("STRATA_METADATA_TABLE", data.table().getTableName());
            env.put("STRATA_ENV", envName);
            if (h.callsStorage()) {
                env.put("STRATA_JWT_SIGNING_KEY_SECRET", data.jwtSigningKey().getSecretArn());
            }
            if (h.readsComputes() || h.callsStorageServices()) {
                env.put("STRATA_COMPUTE_ADMIN_SECRET", data.computeAdminPassword().getSecretArn());
            }
            if (h.callsStorageServices()) {
                // AwsStorageControl (functions, dev.strata.control.aws): the services by their Cloud Map
                // names, the walsenders' password for the pageserver's WAL sources.
                env.put("STRATA_PAGESERVER_URL", storageUrl("pageserver", Ports.PAGESERVER_HTTP));
                env.put("STRATA_SAFEKEEPERS", safekeepers());
                env.put("STRATA_SAFEKEEPER_WALSENDER_PORT", Integer.toString(Ports.SAFEKEEPER_WALSENDER));
                env.put("STRATA_REPLICATION_PASSWORD_SECRET", data.replicationPassword().getSecretArn());
            }
            if (h.retiresAgents()) {
                env.put("STRATA_ECS_CLUSTER", StorageServices.clusterName(envName));
                env.put("STRATA_COMPUTE_POOL_SERVICE", ComputePool.serviceName(envName));
            }
            Function fn = Function.Builder.create(this, cid)
                    .functionName(h.functionName())
                    .description("Strata control plane step " + h.step() + " (" + h.simpleClassName() + ")")
                    .runtime(Runtime.JAVA_21)
                    .architecture(Architecture.X86_64)
                    .handler(h.handler())
                    .code(code)
                    .memorySize(MEMORY_MIB)
                    .timeout(Duration.seconds(h.timeoutSeconds()))
                    .snapStart(SnapStartConf.ON_PUBLISHED_VERSIONS)
                    .vpc(network.vpc())
                    .vpcSubnets(network.selection(Network.CONTROL))
                    .securityGroups(List.of(network.functions()))
                    .logGroup(logs)
                    .environment(env)
                    .build();
            data.table().grantReadWriteData(fn);
            if (h.callsStorage()) {
                data.jwtSigningKey().grantRead(fn);
            }
            if (h.readsComputes() || h.callsStorageServices()) {
                data.computeAdminPassword().grantRead(fn);
            }
            if (h.callsStorageServices()) {
                data.replicationPassword().grantRead(fn);
            }
            if (h.retiresAgents()) {
                grantStopPoolTasks(fn, envName);
            }
            software.amazon.awscdk.Annotations.of(fn).acknowledgeWarning("@aws-cdk/aws-lambda:snapStartRequirePublish",
                    "every deploy publishes a version (currentVersion) and points the live alias at it");
            Alias alias = Alias.Builder.create(this, cid + "Alias").aliasName(ALIAS).version(fn.getCurrentVersion()).build();
            functions.put(h.functionName(), fn);
            aliases.put(h.functionName(), alias);
        }
    }

    /**
     * A Java 21 function of the bundle that is not a workflow step (the key issuer, the pool
     * reaper): named {@code strata-<env>-<what>}, with its own log group kept a month, 512 MiB. The
     * caller adds what differs (network, environment, timeout) and builds it.
     */
    public static Function.Builder javaFunction(Construct scope, Path lambdaBundle, String envName, String what,
            String handler, String description) {
        String name = "strata-" + envName + "-" + what;
        LogGroup logs = LogGroup.Builder.create(scope, "Logs")
                .logGroupName("/strata/" + envName + "/lambda/" + name)
                .retention(RetentionDays.ONE_MONTH)
                .removalPolicy(RemovalPolicy.DESTROY)
                .build();
        return Function.Builder.create(scope, "Function")
                .functionName(name)
                .description(description)
                .runtime(Runtime.JAVA_21)
                .architecture(Architecture.X86_64)
                .handler(handler)
                .code(Code.fromAsset(checkBundle(lambdaBundle).toString()))
                .memorySize(512)
                .logGroup(logs);
    }

    /** A storage service's API by its Cloud Map name ({@code http://<name>.strata.internal:<port>}). */
    static String storageUrl(String name, int port) {
        return "http://" + name + "." + StorageServices.namespace() + ":" + port;
    }

    /** {@code STRATA_SAFEKEEPERS}: {@code sk-1=http://sk-1.strata.internal:7676,...}. */
    static String safekeepers() {
        List<String> members = new java.util.ArrayList<>();
        for (int i = 1; i <= StorageServices.SAFEKEEPERS; i++) {
            String id = StorageServices.safekeeperNodeId(i);
            members.add(id + "=" + storageUrl(id, Ports.SAFEKEEPER_HTTP));
        }
        return String.join(",", members);
    }

    /**
     * Retiring an agent stops its pool task (the service replaces it): list the cluster's tasks
     * (ListTasks has no resource of its own; the condition pins the cluster), describe them to find
     * the agent's address, stop that one. Nothing outside the environment's cluster.
     */
    private void grantStopPoolTasks(Function fn, String envName) {
        StorageServices.grantClusterTasks(fn, envName, List.of("ecs:DescribeTasks", "ecs:StopTask"));
    }

    /** The functions by name ({@code strata-<step>}). */
    public Map<String, Function> functions() {
        return functions;
    }

    public Map<String, Alias> aliases() {
        return aliases;
    }

    /**
     * The bundle must hold the functions jar: {@code functions} is built before this module in the
     * reactor, and the build copies it with its dependencies into {@code target/lambda/lib}.
     */
    public static Path checkBundle(Path bundle) {
        Path lib = bundle.resolve("lib");
        boolean hasFunctionsJar = false;
        if (Files.isDirectory(lib)) {
            try (Stream<Path> jars = Files.list(lib)) {
                hasFunctionsJar = jars.anyMatch(p -> p.getFileName().toString().matches("functions-.*\\.jar"));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("cannot list " + lib, e);
            }
        }
        if (!hasFunctionsJar) {
            throw new IllegalStateException("no Lambda bundle at " + bundle + " (expected lib/functions-*.jar):"
                    + " build it first with `mvn -pl infra-cdk -am package -DskipTests` from the repository root");
        }
        return bundle;
    }

    static String constructId(String step) {
        StringBuilder sb = new StringBuilder();
        for (String part : step.split("-")) {
            sb.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
        }
        return sb.toString();
    }
}
