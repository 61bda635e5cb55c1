package dev.strata.cli.local;

import dev.strata.control.BranchPointException;
import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
import dev.strata.control.storage.BranchTarget;
import dev.strata.control.storage.Election;
import dev.strata.control.storage.StorageControl;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.client.SafekeeperApiException;
import dev.strata.safekeeper.election.ElectionFailedException;
import dev.strata.safekeeper.election.Proposer;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link StorageControl} over a {@link LocalCluster}'s safekeepers and pageserver: the storage
 * steps of the control plane's workflows (create-project, wake, create-branch, delete-branch,
 * restore) run against real storage services with it. It acts as the control plane does on AWS:
 * elections with its own {@code safekeeperdata} token, timelines created on the pageserver first
 * and then on every safekeeper.
 *
 * <p>Idempotent as the interface asks: a step retried after a lost answer finds its work done.
 * A component that does not answer is a {@link TransientStepException} (the workflow retries);
 * a refusal is permanent.
 */
final class ClusterStorageControl implements StorageControl {

    private static final Logger log = LoggerFactory.getLogger(ClusterStorageControl.class);
    private static final Duration ELECTION_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration INGEST_WAIT = Duration.ofSeconds(30);

    private final LocalCluster cluster;
    private final String token;

    ClusterStorageControl(LocalCluster cluster) {
        this.cluster = cluster;
        this.token = cluster.auth().token(Scope.SAFEKEEPER_DATA, "control-plane");
    }

    @Override
    public Election elect(TimelineId timeline, NodeId agent) {
        try {
            Proposer.Result r = new Proposer(timeline, cluster.members(), ELECTION_TIMEOUT, token).elect();
            log.info("timeline={} term {} elected for agent {}, WAL from {}", timeline, r.term(), agent, r.epochStart());
            return new Election(r.term().value(), r.epochStart());
        } catch (ElectionFailedException e) {
            throw new TransientStepException(e.getMessage(), e);
        }
    }

    @Override
    public void createTimeline(TimelineId timeline, int pgVersion) {
        if (pgVersion != 17) {
            throw new StepFailedException("this cluster runs PostgreSQL 17, not " + pgVersion);
        }
        transientIfUnreachable(() -> {
            LocalPageserver ps = cluster.pageserver();
            if (ps.hasTimeline(timeline)) {
                // hasTimeline throws if a safekeeper does not answer: the step is retried then,
                // rather than a timeline that one unreachable safekeeper did not confirm being
                // taken for partly created and dropped from the others.
                if (cluster.safekeepers().stream().allMatch(sk -> sk.hasTimeline(timeline))) {
                    return null; // a retry after a lost answer: done already
                }
                // Made on the pageserver, not on every safekeeper: nothing was ever committed on a
                // project that is not active yet, so start again from a clean slate.
                log.info("timeline={} was only partly created; creating it again", timeline);
                drop(timeline);
            }
            LocalPageserver.CreatedTimeline created = ps.createTimeline(timeline, LocalCluster.DB_USER,
                    cluster.dbPassword());
            for (LocalSafekeeper sk : cluster.safekeepers()) {
                sk.createTimeline(timeline, created.systemId(), created.walSegmentSize(), created.startLsn());
            }
            ps.setWalSources(timeline, cluster.walSources());
            return null;
        });
    }

    @Override
    public Lsn resolveBranchPoint(TimelineId parent, BranchTarget target) {
        return transientIfUnreachable(() -> resolve(cluster, parent, target));
    }

    /**
     * Where {@code target} lies on {@code parent}, by the rule {@link BranchTarget} states (also
     * what {@code strata branch|restore} use): the head is the newest WAL a quorum of safekeepers
     * holds, so every acknowledged commit is in it; an LSN must not be above it; a time is
     * resolved by the pageserver from the commit timestamps it keeps, once it has ingested up to
     * the head (it ingests asynchronously: a commit before the time not yet ingested would be
     * missed). A time after the last commit but not after now is the head; after now is refused.
     */
    static Lsn resolve(LocalCluster cluster, TimelineId parent, BranchTarget target) {
        LocalPageserver ps = cluster.pageserver();
        if (!ps.hasTimeline(parent)) {
            throw new BranchPointException("timeline " + parent + " does not exist on the pageserver");
        }
        Lsn committed = cluster.committedHead(parent);
        Lsn head = committed != null ? committed : ps.lastRecordLsn(parent);
        return switch (target) {
            case BranchTarget.Head h -> head;
            case BranchTarget.AtLsn l -> {
                if (l.lsn().isAfter(head)) {
                    throw new BranchPointException("timeline " + parent + " has no WAL at " + l.lsn()
                            + " yet (its committed head is " + head + ")");
                }
                yield l.lsn();
            }
            case BranchTarget.AtTime t -> {
                java.time.Instant now = cluster.clock().instant();
                if (t.time().isAfter(now)) {
                    throw new BranchPointException(t.time() + " is in the future (it is " + now + " now)");
                }
                ps.awaitIngest(parent, head, INGEST_WAIT);
                LocalPageserver.LsnAtTime found = ps.lsnForTimestamp(parent, t.time());
                yield switch (found.kind()) {
                    case "present" -> found.lsn();
                    case "future" -> head; // after the last commit: nothing happened since
                    case "past" -> throw new BranchPointException(t.time() + " is before the first commit of "
                            + "timeline " + parent + " (its history starts at " + found.lsn() + ")");
                    default -> throw new BranchPointException("timeline " + parent + " has no commit to find "
                            + t.time() + " by; give an LSN instead");
                };
            }
        };
    }

    @Override
    public void createBranchTimeline(TimelineId child, TimelineId parent, Lsn at) {
        transientIfUnreachable(() -> {
            LocalPageserver ps = cluster.pageserver();
            // A retry after a lost answer finds the child made: its branch point is the one it was made at
            // (the pageserver branches at the newest transaction end at or below `at`, decision 0022).
            LocalPageserver.BranchedTimeline made = ps.hasTimeline(child) ? ps.branchOf(child)
                    : ps.branchTimeline(child, parent, at, cluster.walSources());
            for (LocalSafekeeper sk : cluster.safekeepers()) {
                sk.createTimeline(child, made.systemId(), made.walSegmentSize(), made.branchLsn());
            }
            return null;
        });
    }

    @Override
    public void deleteTimeline(TimelineId timeline) {
        transientIfUnreachable(() -> {
            for (LocalSafekeeper sk : cluster.safekeepers()) {
                sk.deleteTimeline(timeline);
            }
            cluster.pageserver().deleteTimeline(timeline);
            return null;
        });
    }

    private void drop(TimelineId timeline) {
        for (LocalSafekeeper sk : cluster.safekeepers()) {
            sk.deleteTimeline(timeline);
        }
        cluster.pageserver().deleteTimeline(timeline);
    }

    /**
     * Runs {@code step}; a component that did not answer (an I/O failure in process, or a child
     * safekeeper's API unreachable or unavailable) makes the step transient, so the engine retries.
     */
    private static <T> T transientIfUnreachable(Supplier<T> step) {
        try {
            return step.get();
        } catch (UncheckedIOException e) {
            throw new TransientStepException("a storage service did not answer: " + e.getMessage(), e);
        } catch (SafekeeperApiException e) {
            if (e.status() == 0 || e.status() == 503) {
                throw new TransientStepException("a storage service did not answer: " + e.getMessage(), e);
            }
            throw e;
        }
    }

    @Override
    public String toString() {
        return "storage control of the local cluster (" + cluster.safekeepers().size() + " safekeepers)";
    }
}
