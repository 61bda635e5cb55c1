package dev.strata.control.aws;

import dev.strata.control.storage.BranchTarget;
import dev.strata.control.storage.Election;
import dev.strata.control.storage.ServiceStorageControl;
import dev.strata.control.storage.StorageControl;
import dev.strata.pageserver.http.Dto;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The control plane's {@link StorageControl} in a Lambda function: {@link ServiceStorageControl}
 * over the storage services the stack names in the environment ({@link AwsSettings}), signing its
 * own short-lived tokens with the key from Secrets Manager. Found by
 * {@link dev.strata.control.runtime.ControlPlane#fromEnvironment} through {@link java.util.ServiceLoader}
 * (META-INF/services) when a storage step first runs, so a function that never calls storage
 * never reads these settings or secrets.
 */
public final class AwsStorageControl implements StorageControl {

    private final AwsSettings settings;
    private final AwsSecrets secrets;
    private final Clock clock;
    /** The storage control of the secrets' current values: signing key, replication and superuser passwords. */
    private final BuiltFromSecrets<StorageControl> built = new BuiltFromSecrets<>(
            v -> storageControl(v.get(0), v.get(1), v.get(2)));

    /** From the process environment (the ServiceLoader's constructor). */
    public AwsStorageControl() {
        this(System.getenv(), AwsSecrets.fromEnvironment(System.getenv()), Clock.systemUTC());
    }

    AwsStorageControl(Map<String, String> env, AwsSecrets secrets, Clock clock) {
        this.settings = AwsSettings.storage(env);
        this.secrets = Objects.requireNonNull(secrets, "secrets is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
    }

    /** The delegate for the secrets as they are now: built again only when one of them changed. */
    private StorageControl delegate() {
        return built.get(List.of(secrets.get(settings.signingKeySecret(), AwsSettings.SIGNING_KEY_SECRET),
                secrets.get(settings.replicationSecret(), AwsSettings.REPLICATION_SECRET),
                secrets.get(settings.superuserSecret(), AwsSettings.SUPERUSER_SECRET)));
    }

    private StorageControl storageControl(String signingKey, String replication, String superuser) {
        var tokens = ServiceStorageControl.issuing(SigningKey.issuer(signingKey, settings.signingKeySecret()), clock);
        // The walsenders listen on each safekeeper's host; the pageserver logs in as its default
        // replication user (strata_replicator, as the safekeepers' --replication-user default).
        var sources = settings.safekeepers().stream()
                .map(m -> new Dto.Source(m.url().getHost(), settings.walsenderPort(), null, replication)).toList();
        return new ServiceStorageControl(new ServiceStorageControl.Nodes(settings.pageserver(), settings.safekeepers(),
                sources), tokens, superuser, clock);
    }

    @Override
    public Election elect(TimelineId timeline, NodeId agent) {
        return delegate().elect(timeline, agent);
    }

    @Override
    public void createTimeline(TimelineId timeline, int pgVersion) {
        delegate().createTimeline(timeline, pgVersion);
    }

    @Override
    public Lsn resolveBranchPoint(TimelineId parent, BranchTarget target) {
        return delegate().resolveBranchPoint(parent, target);
    }

    @Override
    public void createBranchTimeline(TimelineId child, TimelineId parent, Lsn at) {
        delegate().createBranchTimeline(child, parent, at);
    }

    @Override
    public void deleteTimeline(TimelineId timeline) {
        delegate().deleteTimeline(timeline);
    }

    @Override
    public String toString() {
        return "storage control of the AWS deployment (pageserver " + settings.pageserver() + ", "
                + settings.safekeepers().size() + " safekeepers)";
    }
}
