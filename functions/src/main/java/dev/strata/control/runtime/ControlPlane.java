package dev.strata.control.runtime;

import dev.strata.control.compute.ComputeProvisioner;
import dev.strata.control.metadata.DynamoClients;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.control.model.OperationId;
import dev.strata.control.service.BranchSteps;
import dev.strata.control.service.ComputeSteps;
import dev.strata.control.service.Operations;
import dev.strata.control.service.ProjectSteps;
import dev.strata.control.storage.StorageControl;
import java.net.URI;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.function.Supplier;
import org.crac.Core;
import org.crac.Resource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

/**
 * What the handlers run on: the DynamoDB client and the metadata store over it, the compute and
 * storage seams, the clock, and the step services built from them.
 *
 * <p>SnapStart: a Lambda function's handler is constructed during init, and the JVM's memory is
 * snapshotted after it and restored later, on another host, possibly many times. So nothing that
 * must be fresh per restore is kept from init: the clock is read at each call ({@link Clock}, never
 * an {@code Instant} captured once), no step draws randomness (ids come from operation ids,
 * {@code StepIds}), and the DynamoDB client (its connections, its credentials) is closed in
 * {@link #beforeCheckpoint} and built again in {@link #afterRestore} (or on the next call, if a
 * call comes first). {@link #prime()} runs each step's code path once before the snapshot, so its
 * classes are loaded and initialised in the snapshot instead of on the first call after restore.
 * Outside a CRaC JVM the hooks are never called and registering them is a no-op.
 */
public final class ControlPlane implements Resource, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);

    /** An operation id that is never created: the priming read finds nothing. */
    static final OperationId PRIMER = OperationId.of("op-snapstartprimer");

    /** The environment variable naming the metadata table ({@link MetadataTable#DEFAULT_NAME} if unset). */
    public static final String TABLE_ENV = "STRATA_METADATA_TABLE";
    /** The environment variable with a DynamoDB-compatible endpoint to use instead of AWS (local runs). */
    public static final String DYNAMODB_ENDPOINT_ENV = "STRATA_DYNAMODB_ENDPOINT";

    private static ControlPlane fromEnvironment;

    private final Supplier<DynamoDbClient> clients;
    private final String table;
    private final Supplier<ComputeProvisioner> compute;
    private final Supplier<StorageControl> storage;
    private final Clock clock;
    private Services services; // guarded by this; null while checkpointed or closed
    private int opened;

    private record Services(DynamoDbClient client, MetadataStore store, Operations operations, ComputeSteps compute,
                            ProjectSteps projects, BranchSteps branches) {
    }

    private ControlPlane(Supplier<DynamoDbClient> clients, String table, Supplier<ComputeProvisioner> compute,
                         Supplier<StorageControl> storage, Clock clock) {
        this.clients = Objects.requireNonNull(clients, "clients is null");
        this.table = Objects.requireNonNull(table, "table is null");
        this.compute = Objects.requireNonNull(compute, "compute is null");
        this.storage = Objects.requireNonNull(storage, "storage is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
    }

    /**
     * A control plane whose DynamoDB clients come from {@code clients} (called again after every
     * checkpoint), on {@code table}. For {@code strata up} and tests; not registered with CRaC.
     */
    public static ControlPlane create(Supplier<DynamoDbClient> clients, String table, ComputeProvisioner compute,
                                      StorageControl storage, Clock clock) {
        Objects.requireNonNull(compute, "compute is null");
        Objects.requireNonNull(storage, "storage is null");
        return new ControlPlane(clients, table, () -> compute, () -> storage, clock);
    }

    /**
     * The control plane of a Lambda function, one per JVM, made on first use from the environment
     * ({@value #TABLE_ENV}, {@value #DYNAMODB_ENDPOINT_ENV}, {@code AWS_REGION}) and registered for
     * CRaC's checkpoint and restore. The compute and storage implementations are found with
     * {@link ServiceLoader} when a step first needs them: the deployment puts them on the class path.
     */
    public static synchronized ControlPlane fromEnvironment() {
        if (fromEnvironment == null) {
            Map<String, String> env = System.getenv();
            String table = env.getOrDefault(TABLE_ENV, MetadataTable.DEFAULT_NAME);
            String endpoint = env.get(DYNAMODB_ENDPOINT_ENV);
            String region = env.getOrDefault("AWS_REGION", "us-east-1");
            Supplier<DynamoDbClient> clients = endpoint == null || endpoint.isBlank()
                    ? () -> DynamoClients.aws(Region.of(region))
                    : () -> DynamoClients.local(URI.create(endpoint));
            ControlPlane cp = new ControlPlane(clients, table, loaded(ComputeProvisioner.class),
                    loaded(StorageControl.class), Clock.systemUTC());
            Core.getGlobalContext().register(cp);
            fromEnvironment = cp;
        }
        return fromEnvironment;
    }

    /**
     * The {@code type} implementation on the class path, made on the first call and kept for the
     * JVM's life (in the bundle: {@code dev.strata.control.aws}). Never made during SnapStart's init:
     * {@link #prime()} does not reach it, so no secret it reads is in a snapshot.
     */
    private static <T> Supplier<T> loaded(Class<T> type) {
        return new Supplier<>() {
            private T loaded; // guarded by this

            @Override
            public synchronized T get() {
                if (loaded == null) {
                    try {
                        loaded = ServiceLoader.load(type).findFirst().orElseThrow(() -> new IllegalStateException(
                                "no " + type.getName() + " on the class path (META-INF/services): the deployment "
                                        + "provides it"));
                    } catch (java.util.ServiceConfigurationError e) {
                        // Its constructor refused the environment: say why, as an exception the step reports.
                        Throwable why = e.getCause() != null ? e.getCause() : e;
                        throw new IllegalStateException("cannot make the " + type.getSimpleName() + ": "
                                + why.getMessage(), why);
                    }
                }
                return loaded;
            }
        };
    }

    public String table() {
        return table;
    }

    public MetadataStore metadata() {
        return services().store();
    }

    public Operations operations() {
        return services().operations();
    }

    public ComputeSteps computeSteps() {
        return services().compute();
    }

    public ProjectSteps projectSteps() {
        return services().projects();
    }

    public BranchSteps branchSteps() {
        return services().branches();
    }

    /** How many DynamoDB clients were built so far (1 + one per restore that was used). */
    public synchronized int clientsOpened() {
        return opened;
    }

    /** Whether a client is open now (false between a checkpoint and the next use). */
    public synchronized boolean isOpen() {
        return services != null;
    }

    private synchronized Services services() {
        if (services == null) {
            DynamoDbClient client = clients.get();
            opened++;
            MetadataStore store = new MetadataStore(client, table);
            Operations ops = new Operations(store, clock);
            services = new Services(client, store, ops, new ComputeSteps(store, ops, compute, storage),
                    new ProjectSteps(store, ops, storage), new BranchSteps(store, ops, storage));
        }
        return services;
    }

    /**
     * Runs the metadata path once (a consistent read of an operation that does not exist, through the
     * store and its codecs), so the SDK's and the store's classes are loaded before the snapshot.
     * A failure is logged, not thrown: priming is an optimisation.
     */
    public void prime() {
        try {
            metadata().getOperation(PRIMER);
        } catch (RuntimeException e) {
            log.warn("priming the metadata path failed (the first call after restore will be slower): {}",
                    e.toString());
        }
    }

    @Override
    public void beforeCheckpoint(org.crac.Context<? extends Resource> context) {
        prime();
        closeClient();
    }

    @Override
    public void afterRestore(org.crac.Context<? extends Resource> context) {
        services(); // a fresh client, with the credentials of the host restored on
    }

    @Override
    public void close() {
        closeClient();
    }

    private synchronized void closeClient() {
        if (services != null) {
            services.client().close();
            services = null;
        }
    }
}
