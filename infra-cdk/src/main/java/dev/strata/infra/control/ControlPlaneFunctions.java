package dev.strata.infra.control;

import dev.strata.infra.network.Network;
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
            if (h.readsComputes()) {
                env.put("STRATA_COMPUTE_ADMIN_SECRET", data.computeAdminPassword().getSecretArn());
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
            if (h.readsComputes()) {
                data.computeAdminPassword().grantRead(fn);
            }
            software.amazon.awscdk.Annotations.of(fn).acknowledgeWarning("@aws-cdk/aws-lambda:snapStartRequirePublish",
                    "every deploy publishes a version (currentVersion) and points the live alias at it");
            Alias alias = Alias.Builder.create(this, cid + "Alias").aliasName(ALIAS).version(fn.getCurrentVersion()).build();
            functions.put(h.functionName(), fn);
            aliases.put(h.functionName(), alias);
        }
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
    static Path checkBundle(Path bundle) {
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
