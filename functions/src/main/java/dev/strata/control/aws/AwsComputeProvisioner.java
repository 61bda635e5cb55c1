package dev.strata.control.aws;

import dev.strata.control.StepFailedException;
import dev.strata.control.compute.AgentComputeProvisioner;
import dev.strata.control.compute.ComputeProvisioner;
import dev.strata.control.model.ComputeAgent;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import software.amazon.awssdk.services.ecs.EcsClient;

/**
 * The control plane's {@link ComputeProvisioner} in a Lambda function: {@link AgentComputeProvisioner}
 * over the compute agents' API, signing each call's token with the key from Secrets Manager, and
 * the warm pool on ECS ({@link EcsPoolLauncher}, with on-demand tasks where the stack configures
 * them, {@link BurstSettings}; launching and retiring need no token, so the steps
 * that only retire agents are not given the key). Found through {@link java.util.ServiceLoader}
 * when a compute step first runs.
 */
public final class AwsComputeProvisioner implements ComputeProvisioner {

    /** The environment variable with an ECS-compatible endpoint to use instead of AWS (tests). */
    public static final String ECS_ENDPOINT_ENV = "STRATA_ECS_ENDPOINT";
    /**
     * One start (take-over, pageserver wait, basebackup, Postgres start) within the StartPostgres
     * function's 60 s timeout, with room for the answer.
     */
    static final Duration START_TIMEOUT = Duration.ofSeconds(50);

    private final AwsSettings settings;
    private final AwsSecrets secrets;
    private final Clock clock;
    private final AgentComputeProvisioner.AgentLauncher launcher;
    /** The provisioner of the signing key's current value. */
    private final BuiltFromSecrets<ComputeProvisioner> built = new BuiltFromSecrets<>(v -> provisioner(v.get(0)));

    /** From the process environment (the ServiceLoader's constructor). */
    public AwsComputeProvisioner() {
        this(System.getenv(), AwsSecrets.fromEnvironment(System.getenv()), Clock.systemUTC());
    }

    AwsComputeProvisioner(Map<String, String> env, AwsSecrets secrets, Clock clock) {
        this.settings = AwsSettings.compute(env);
        this.secrets = Objects.requireNonNull(secrets, "secrets is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
        this.launcher = settings.cluster().isPresent() && settings.poolService().isPresent()
                ? new EcsPoolLauncher(ecs(env), settings.cluster().get(), settings.poolService().get(),
                        BurstSettings.fromEnvironment(env))
                : new Unconfigured();
    }

    private static EcsClient ecs(Map<String, String> env) {
        return AwsClients.build(EcsClient.builder(), env, ECS_ENDPOINT_ENV);
    }

    private ComputeProvisioner delegate() {
        return built.get(List.of(secrets.get(settings.requireSigningKeySecret(), AwsSettings.SIGNING_KEY_SECRET)));
    }

    private ComputeProvisioner provisioner(String signingKey) {
        return new AgentComputeProvisioner(launcher, SigningKey.issuer(signingKey, settings.signingKeySecret()), clock,
                START_TIMEOUT);
    }

    @Override
    public String launchAgent(NodeId id) {
        return launcher.launch(id); // the pool's business: no agent call, no token
    }

    @Override
    public String startPostgres(ComputeAgent agent, EndpointId endpoint, TimelineId timeline, long term, Lsn startLsn) {
        return delegate().startPostgres(agent, endpoint, timeline, term, startLsn);
    }

    @Override
    public void stopPostgres(ComputeAgent agent, EndpointId endpoint) {
        delegate().stopPostgres(agent, endpoint);
    }

    @Override
    public int sessions(ComputeAgent agent, EndpointId endpoint) {
        return delegate().sessions(agent, endpoint);
    }

    @Override
    public void retireAgent(ComputeAgent agent) {
        launcher.retire(agent); // stops its task: no agent call, no token
    }

    /** A function the stack gave no pool settings: only the steps that touch the pool refuse. */
    private static final class Unconfigured implements AgentComputeProvisioner.AgentLauncher {
        @Override
        public String launch(NodeId id) {
            throw new StepFailedException("this function has no compute pool configured (" + AwsSettings.ECS_CLUSTER
                    + ", " + AwsSettings.POOL_SERVICE + ")");
        }

        @Override
        public void retire(ComputeAgent agent) {
            throw new StepFailedException("this function has no compute pool configured (" + AwsSettings.ECS_CLUSTER
                    + ", " + AwsSettings.POOL_SERVICE + ")");
        }
    }
}
