package dev.strata.controlapi.wake;

import dev.strata.control.metadata.DynamoClients;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.runtime.ControlPlane;
import dev.strata.controlapi.ControlApi;
import dev.strata.controlapi.StepFunctionsLauncher;
import dev.strata.proxy.ProxyMain;
import dev.strata.statemachines.Workflow;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sfn.SfnClient;

/**
 * The proxy as the ECS task runs it on AWS: {@link ProxyMain}'s listener, TLS, limits, status port
 * and metrics, in front of {@link ControlPlaneWake} over a {@link ControlApi} whose metadata is the
 * stack's DynamoDB table and whose workflows start on the stack's Step Functions state machines
 * (decision 0034). Every option of {@link ProxyMain} is accepted except {@code --endpoint}: the
 * metadata says which endpoints exist and where their computes run.
 *
 * <pre>AwsProxyMain [ProxyMain options] [--metadata-table NAME] [--wake-state-machine ARN]
 *              [--suspend-state-machine ARN] [--liveness-timeout-ms 1000]</pre>
 *
 * <p>Each of the three may come from the environment instead, as the task definition
 * ({@code infra-cdk} ProxyService) passes them: {@value ControlPlane#TABLE_ENV},
 * {@code STRATA_SFN_WAKE}, {@code STRATA_SFN_SUSPEND} ({@link StepFunctionsLauncher#arnVariable});
 * arguments win. The region is {@code AWS_REGION} (ECS sets it) and the credentials the task role's
 * (the SDK's default chain). For a local DynamoDB-compatible server and a local Step Functions
 * (tests, moto), {@value ControlPlane#DYNAMODB_ENDPOINT_ENV} and {@value #SFN_ENDPOINT_ENV} name
 * their URLs; with either set, the clients use static dummy credentials and no AWS account is
 * touched.
 */
public final class AwsProxyMain {

    private static final Logger log = LoggerFactory.getLogger(AwsProxyMain.class);

    /** A Step Functions-compatible endpoint to use instead of AWS (local runs, tests). */
    public static final String SFN_ENDPOINT_ENV = "STRATA_SFN_ENDPOINT";
    /** DynamoDB's rule for table names. */
    private static final Pattern TABLE_NAME = Pattern.compile("[a-zA-Z0-9_.-]{3,255}");
    /** A Step Functions state machine ARN (any partition). */
    private static final Pattern STATE_MACHINE_ARN = Pattern.compile("arn:aws[a-z-]*:states:[a-z0-9-]+:\\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}");
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(30);

    private AwsProxyMain() {
    }

    /**
     * Where the proxy's control plane is.
     *
     * @param dynamoEndpoint empty: DynamoDB in {@code region}
     * @param sfnEndpoint    empty: Step Functions in {@code region}
     */
    public record ControlPlaneConfig(String table, Map<Workflow, String> stateMachines, Region region,
                                     Optional<URI> dynamoEndpoint, Optional<URI> sfnEndpoint,
                                     Duration livenessTimeout) {
        public ControlPlaneConfig {
            Objects.requireNonNull(table, "table is null");
            stateMachines = Map.copyOf(stateMachines);
            Objects.requireNonNull(region, "region is null");
            Objects.requireNonNull(dynamoEndpoint, "dynamoEndpoint is null");
            Objects.requireNonNull(sfnEndpoint, "sfnEndpoint is null");
            Objects.requireNonNull(livenessTimeout, "livenessTimeout is null");
        }
    }

    /** The command line split: the control plane's part, and the rest for {@link ProxyMain#parse}. */
    record Parsed(ControlPlaneConfig controlPlane, ProxyMain.Options proxy) {
    }

    /**
     * Parses the arguments and environment; reads no file, binds nothing, calls no AWS API.
     *
     * @throws IllegalArgumentException naming the option or variable at fault
     */
    static Parsed parse(String[] args, Map<String, String> env) {
        Map<String, String> own = new HashMap<>();
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--metadata-table", "--wake-state-machine", "--suspend-state-machine", "--liveness-timeout-ms" -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(a + " needs a value");
                    }
                    own.put(a, args[++i]);
                }
                default -> rest.add(a);
            }
        }
        String table = first(own.get("--metadata-table"), env.get(ControlPlane.TABLE_ENV));
        if (table == null) {
            throw new IllegalArgumentException("the metadata table is not given: --metadata-table NAME or "
                    + ControlPlane.TABLE_ENV);
        }
        if (!TABLE_NAME.matcher(table).matches()) {
            throw new IllegalArgumentException("metadata table '" + shown(table) + "' is not a DynamoDB table name "
                    + "(3 to 255 of a-z A-Z 0-9 _ . -)");
        }
        Map<Workflow, String> machines = new EnumMap<>(Workflow.class);
        machines.put(Workflow.WAKE, arn(own.get("--wake-state-machine"), env, Workflow.WAKE, "--wake-state-machine"));
        machines.put(Workflow.SUSPEND, arn(own.get("--suspend-state-machine"), env, Workflow.SUSPEND,
                "--suspend-state-machine"));
        Optional<URI> dynamo = url(env, ControlPlane.DYNAMODB_ENDPOINT_ENV);
        Optional<URI> sfn = url(env, SFN_ENDPOINT_ENV);
        String regionName = first(env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"));
        if (regionName == null && (dynamo.isEmpty() || sfn.isEmpty())) {
            throw new IllegalArgumentException("AWS_REGION is not set (ECS sets it in every task)");
        }
        Region region = Region.of(regionName == null ? "us-east-1" : regionName);
        long liveness;
        String l = own.getOrDefault("--liveness-timeout-ms", "1000");
        try {
            liveness = Long.parseLong(l);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--liveness-timeout-ms wants a number, got '" + shown(l) + "'", e);
        }
        if (liveness < 1 || liveness > 60_000) {
            throw new IllegalArgumentException("--liveness-timeout-ms must be 1..60000, got " + liveness);
        }
        ProxyMain.Options proxy = ProxyMain.parse(rest.toArray(String[]::new), env, false);
        return new Parsed(new ControlPlaneConfig(table, machines, region, dynamo, sfn, Duration.ofMillis(liveness)),
                proxy);
    }

    private static String arn(String given, Map<String, String> env, Workflow w, String option) {
        String variable = StepFunctionsLauncher.arnVariable(w);
        String arn = first(given, env.get(variable));
        if (arn == null) {
            throw new IllegalArgumentException("the " + w.fileName() + " state machine is not given: " + option
                    + " ARN or " + variable);
        }
        if (!STATE_MACHINE_ARN.matcher(arn).matches()) {
            throw new IllegalArgumentException(option + " / " + variable + ": '" + shown(arn)
                    + "' is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)");
        }
        return arn;
    }

    private static Optional<URI> url(Map<String, String> env, String variable) {
        String v = first(env.get(variable), null);
        if (v == null) {
            return Optional.empty();
        }
        URI u;
        try {
            u = URI.create(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(variable + ": '" + shown(v) + "' is not a URL", e);
        }
        if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
            throw new IllegalArgumentException(variable + ": '" + shown(v) + "' is not an http(s)://HOST:PORT URL");
        }
        return Optional.of(u);
    }

    private static String first(String a, String b) {
        if (a != null && !a.isBlank()) {
            return a.trim();
        }
        return b != null && !b.isBlank() ? b.trim() : null;
    }

    private static String shown(String s) {
        String t = s.length() > 120 ? s.substring(0, 120) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }

    /** The proxy and the control-plane clients it runs on; {@link #close} stops the proxy, then the clients. */
    public record Started(ProxyMain.Running running, ControlPlaneWake wake, ControlApi api, DynamoDbClient dynamo,
                          SfnClient sfn) implements AutoCloseable {
        @Override
        public void close() {
            running.close();
            wake.close();
            sfn.close();
            dynamo.close();
        }
    }

    /**
     * Starts the proxy the arguments and environment describe; the caller closes it.
     *
     * @throws IllegalArgumentException if the arguments or environment are wrong
     */
    public static Started start(String[] args, Map<String, String> env) {
        Parsed p = parse(args, env);
        ControlPlaneConfig c = p.controlPlane();
        DynamoDbClient dynamo = c.dynamoEndpoint().map(DynamoClients::local).orElseGet(() -> DynamoClients.aws(c.region()));
        SfnClient sfn = null;
        try {
            sfn = sfnClient(c);
            ControlApi api = new ControlApi(new MetadataStore(dynamo, c.table()),
                    new StepFunctionsLauncher(sfn, c.stateMachines()), Clock.systemUTC());
            ControlPlaneWake wake = new ControlPlaneWake(api, ControlPlaneWake.ComputeLiveness.tcp(c.livenessTimeout()),
                    ControlPlaneWake.OperationSignal.NONE, ControlPlaneWake.Settings.DEFAULTS);
            ProxyMain.Running running;
            try {
                running = ProxyMain.start(p.proxy(), wake);
            } catch (RuntimeException e) {
                wake.close();
                throw e;
            }
            log.info("proxy on {}:{} waking endpoints through table {} and state machine {}", p.proxy().config().host(),
                    running.proxy().port(), c.table(), c.stateMachines().get(Workflow.WAKE));
            return new Started(running, wake, api, dynamo, sfn);
        } catch (RuntimeException e) {
            if (sfn != null) {
                sfn.close();
            }
            dynamo.close();
            throw e;
        }
    }

    private static SfnClient sfnClient(ControlPlaneConfig c) {
        var b = SfnClient.builder()
                .region(c.region())
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(CONNECT_TIMEOUT).socketTimeout(SOCKET_TIMEOUT))
                .overrideConfiguration(o -> o.retryStrategy(RetryMode.STANDARD));
        if (c.sfnEndpoint().isPresent()) {
            b.endpointOverride(c.sfnEndpoint().get())
                    .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local")));
        }
        return b.build();
    }

    public static void main(String[] args) throws InterruptedException {
        Started started;
        try {
            started = start(args, System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("strata proxy (aws): " + e.getMessage());
            System.err.println("usage: AwsProxyMain [--listen 0.0.0.0] [--port 5432] [--tls-dir DIR [--require-tls]]"
                    + " [--status-port PORT --auth-public-keys FILE] [--max-connections N] [--metrics-environment NAME]"
                    + " [--metadata-table NAME] [--wake-state-machine ARN] [--suspend-state-machine ARN]"
                    + " [--liveness-timeout-ms 1000]  (or " + ControlPlane.TABLE_ENV + ", "
                    + StepFunctionsLauncher.arnVariable(Workflow.WAKE) + ", "
                    + StepFunctionsLauncher.arnVariable(Workflow.SUSPEND) + ")");
            System.exit(2);
            return;
        }
        started.running().awaitShutdown(() -> {
            started.wake().close();
            started.sfn().close();
            started.dynamo().close();
        });
    }
}
