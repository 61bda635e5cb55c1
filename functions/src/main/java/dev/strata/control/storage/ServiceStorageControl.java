package dev.strata.control.storage;

import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
import dev.strata.pageserver.client.PageserverAdminClient;
import dev.strata.pageserver.client.PageserverApiException;
import dev.strata.pageserver.client.TimelineIdentity;
import dev.strata.pageserver.http.Dto;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.client.SafekeeperApiException;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.ElectionFailedException;
import dev.strata.safekeeper.election.Proposer;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link StorageControl} over the storage services' management APIs: the safekeepers' (and their
 * election, run by this side as the proposer) and the pageserver's. It is what a control-plane
 * Lambda runs on AWS ({@code dev.strata.control.aws.AwsStorageControl} configures it from the
 * environment) and what {@code strata up} runs against its own services, so the local cluster
 * exercises the same calls.
 *
 * <p>Order: a timeline is made on the pageserver first (it knows the cluster identity: initdb's,
 * or the parent's for a branch) and then on every safekeeper; deleted on the safekeepers first.
 * Idempotent as the interface asks: a step retried after a lost answer finds its work done. A
 * service that does not answer (or answers 503) makes the step a {@link TransientStepException},
 * which the workflow retries with backoff; any other refusal is permanent.
 */
public final class ServiceStorageControl implements StorageControl {

    private static final Logger log = LoggerFactory.getLogger(ServiceStorageControl.class);
    private static final Duration ELECTION_TIMEOUT = Duration.ofSeconds(30);
    /** How long a token this side issues for one call stays valid. */
    private static final Duration CALL_TOKEN_LIFETIME = Duration.ofMinutes(5);

    /**
     * Where the storage services are: the pageserver's management API, the safekeepers (id and
     * management API), and the safekeepers' walsenders as the pageserver streams from them (with
     * the replication user's credentials; the pageserver needs the password with every source).
     */
    public record Nodes(URI pageserver, List<Proposer.Member> safekeepers, List<Dto.Source> walSources) {
        public Nodes {
            Objects.requireNonNull(pageserver, "pageserver is null");
            safekeepers = List.copyOf(safekeepers);
            walSources = List.copyOf(walSources);
            if (safekeepers.isEmpty()) {
                throw new IllegalArgumentException("no safekeepers");
            }
            if (walSources.size() != safekeepers.size()) {
                throw new IllegalArgumentException(safekeepers.size() + " safekeepers but " + walSources.size()
                        + " WAL sources: the pageserver streams from each safekeeper");
            }
        }
    }

    private final Nodes nodes;
    private final Function<Scope, String> tokens;
    private final String superuserPassword;
    private final Clock clock;
    private final PageserverAdminClient pageserver;

    /**
     * @param tokens            a token of the scope asked ({@code safekeeperdata}, {@code pageserverapi}),
     *                          called for every call: {@link #issuing} gives short-lived ones
     * @param superuserPassword the password initdb gives {@code postgres} in a new project's timeline
     *                          (the compute agents log in with it)
     * @param clock             what "now" is when a branch is asked for a time
     */
    public ServiceStorageControl(Nodes nodes, Function<Scope, String> tokens, String superuserPassword, Clock clock) {
        this.nodes = Objects.requireNonNull(nodes, "nodes is null");
        this.tokens = Objects.requireNonNull(tokens, "tokens is null");
        this.superuserPassword = Objects.requireNonNull(superuserPassword, "superuserPassword is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
        this.pageserver = new PageserverAdminClient(nodes.pageserver(), () -> tokens.apply(Scope.PAGESERVER_API));
    }

    /** Tokens signed by {@code issuer} for subject {@code control-plane}, each valid for five minutes. */
    public static Function<Scope, String> issuing(TokenIssuer issuer, Clock clock) {
        return scope -> issuer.issue(Claims.service(scope, "control-plane",
                Optional.of(clock.instant().plus(CALL_TOKEN_LIFETIME))));
    }

    @Override
    public Election elect(TimelineId timeline, NodeId agent) {
        try {
            Proposer.Result r = new Proposer(timeline, nodes.safekeepers(), ELECTION_TIMEOUT,
                    tokens.apply(Scope.SAFEKEEPER_DATA)).elect();
            log.info("timeline={} term {} elected for agent {}, WAL from {}", timeline, r.term(), agent, r.epochStart());
            return new Election(r.term().value(), r.epochStart());
        } catch (ElectionFailedException e) {
            throw new TransientStepException(e.getMessage(), e);
        }
    }

    @Override
    public void createTimeline(TimelineId timeline, int pgVersion) {
        if (pgVersion != 17) {
            throw new StepFailedException("the storage services run PostgreSQL 17, not " + pgVersion);
        }
        transientIfUnavailable(() -> {
            if (pageserver.timeline(timeline).isPresent()) {
                // A safekeeper that does not answer throws here: the step is retried then, rather than
                // a timeline that one unreachable safekeeper did not confirm being taken for partly
                // created and dropped from the others.
                if (safekeepers().stream().allMatch(sk -> has(sk, timeline))) {
                    return null; // a retry after a lost answer: done already
                }
                // Made on the pageserver, not on every safekeeper: nothing was ever committed on a
                // project that is not active yet, so start again from a clean slate.
                log.info("timeline={} was only partly created; creating it again", timeline);
                delete(timeline);
            }
            TimelineIdentity made = TimelineIdentity.of(pageserver.createFromInitdb(timeline, superuserPassword));
            createOnSafekeepers(timeline, made);
            pageserver.setWalSources(timeline, nodes.walSources());
            return null;
        });
    }

    /** Where {@code target} lies on {@code parent}: {@link BranchPoints}' rule, read over the services' APIs. */
    @Override
    public Lsn resolveBranchPoint(TimelineId parent, BranchTarget target) {
        return transientIfUnavailable(() -> BranchPoints.resolve(branchPointSource, clock, parent, target));
    }

    private final BranchPoints.Source branchPointSource = new BranchPoints.Source() {
        @Override
        public Optional<Lsn> ingested(TimelineId timeline) {
            return pageserver.timeline(timeline).map(t -> Lsn.parse(t.lastRecordLsn()));
        }

        @Override
        public Lsn committedHead(TimelineId timeline) {
            return ServiceStorageControl.this.committedHead(timeline);
        }

        @Override
        public void awaitIngest(TimelineId timeline, Lsn lsn, Duration timeout) {
            pageserver.awaitLsn(timeline, lsn, timeout);
        }

        @Override
        public BranchPoints.Found lsnForTimestamp(TimelineId timeline, Instant time) {
            Dto.LsnByTimestamp found = pageserver.lsnByTimestamp(timeline, time);
            return new BranchPoints.Found(Lsn.parse(found.lsn()), found.kind());
        }
    };

    /**
     * The newest WAL a quorum of safekeepers holds of the timeline (the highest LSN a quorum has
     * flushed, or a commit LSN one of them knows if higher): every commit acknowledged to a client
     * is below it. Null if fewer than a quorum answer.
     */
    public Lsn committedHead(TimelineId timeline) {
        List<Lsn> flushed = new ArrayList<>();
        Lsn commit = Lsn.INVALID;
        for (SafekeeperClient sk : safekeepers()) {
            try {
                var st = sk.status(timeline);
                flushed.add(Lsn.parse(st.flushLsn()));
                commit = Lsn.max(commit, Lsn.parse(st.commitLsn()));
            } catch (SafekeeperApiException e) {
                log.info("timeline={} safekeeper {} did not give its position: {}", timeline, sk.base(), e.getMessage());
            }
        }
        return quorumHead(flushed, commit, nodes.safekeepers().size());
    }

    /**
     * The highest LSN a quorum of {@code members} safekeepers has flushed, given the flush LSNs of
     * those that answered, or {@code commit} if higher; null if fewer than a quorum answered.
     */
    public static Lsn quorumHead(List<Lsn> flushed, Lsn commit, int members) {
        int quorum = members / 2 + 1;
        if (flushed.size() < quorum) {
            return null;
        }
        List<Lsn> sorted = new ArrayList<>(flushed);
        sorted.sort(Comparator.reverseOrder());
        return Lsn.max(commit, sorted.get(quorum - 1));
    }

    @Override
    public void createBranchTimeline(TimelineId child, TimelineId parent, Lsn at) {
        transientIfUnavailable(() -> {
            // A retry after a lost answer finds the child made: its branch point is the one it was made
            // at (the pageserver branches at the newest transaction end at or below `at`, decision 0022).
            Optional<Dto.TimelineStatus> existing = pageserver.timeline(child);
            if (existing.isPresent() && !parent.toString().equals(existing.get().ancestorTimelineId())) {
                throw new IllegalStateException("timeline " + child + " exists already, branched from "
                        + existing.get().ancestorTimelineId() + ", not from " + parent);
            }
            Dto.TimelineStatus made = existing.isPresent() ? existing.get()
                    : pageserver.branch(child, parent, at, nodes.walSources());
            createOnSafekeepers(child, TimelineIdentity.of(made));
            return null;
        });
    }

    @Override
    public void deleteTimeline(TimelineId timeline) {
        transientIfUnavailable(() -> {
            delete(timeline);
            return null;
        });
    }

    /** Safekeepers first: a compute that still streams loses its quorum before its pages go. */
    private void delete(TimelineId timeline) {
        for (SafekeeperClient sk : safekeepers()) {
            try {
                sk.deleteTimeline(timeline);
            } catch (SafekeeperApiException e) {
                if (e.status() != 404) {
                    throw e;
                }
            }
        }
        pageserver.deleteTimeline(timeline);
    }

    private void createOnSafekeepers(TimelineId timeline, TimelineIdentity made) {
        for (SafekeeperClient sk : safekeepers()) {
            try {
                sk.createTimeline(timeline, made.systemId(), made.walSegmentSize(), made.walStart());
            } catch (SafekeeperApiException e) {
                if (e.status() != 409) {
                    throw e;
                }
                // made before this retry
            }
        }
    }

    private static boolean has(SafekeeperClient sk, TimelineId timeline) {
        try {
            sk.status(timeline);
            return true;
        } catch (SafekeeperApiException e) {
            if (e.status() == 404) {
                return false;
            }
            throw e;
        }
    }

    private List<SafekeeperClient> safekeepers() {
        String token = tokens.apply(Scope.SAFEKEEPER_DATA);
        return nodes.safekeepers().stream().map(m -> new SafekeeperClient(m.url(), token)).toList();
    }

    /**
     * Runs {@code step}; a service that did not answer or answered 503 makes the step transient, so
     * the engine retries it.
     */
    private static <T> T transientIfUnavailable(Supplier<T> step) {
        try {
            return step.get();
        } catch (PageserverApiException e) {
            if (e.isUnavailable()) {
                throw new TransientStepException("the pageserver did not answer: " + e.getMessage(), e);
            }
            throw e;
        } catch (SafekeeperApiException e) {
            if (e.status() == 0 || e.status() == 503) {
                throw new TransientStepException("a safekeeper did not answer: " + e.getMessage(), e);
            }
            throw e;
        }
    }

    @Override
    public String toString() {
        return "storage control over " + pageserver + " and " + nodes.safekeepers().size() + " safekeepers";
    }
}
