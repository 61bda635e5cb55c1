package dev.strata.safekeeper.election;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import dev.strata.safekeeper.client.SafekeeperApiException;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.http.Dto;
import dev.strata.safekeeper.receive.ComputeAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proposer of the safekeepers' Paxos (architecture §3), run by whoever starts a compute:
 * picks a term above every term it has seen, gathers a majority of votes, chooses the donor
 * (highest last term, then flush LSN), tells the voters (they truncate divergent tails and
 * recover missing WAL from the donor), and waits until a majority holds WAL up to the epoch
 * start E. The compute of that term is then started at E and the voters stream from it.
 */
public final class Proposer {

    private static final Logger log = LoggerFactory.getLogger(Proposer.class);
    private static final int MAX_ROUNDS = 5;

    /** A safekeeper: its id and management API base URL. */
    public record Member(NodeId id, URI url) {
        public Member {
            Objects.requireNonNull(id, "id is null");
            Objects.requireNonNull(url, "url is null");
        }
    }

    /** The outcome of an election. */
    public record Result(Term term, Lsn epochStart, TermHistory history, NodeId donor, String donorUrl, List<NodeId> voters) {
    }

    private final TimelineId timeline;
    private final List<Member> members;
    private final Duration timeout;
    private final String token;

    /**
     * @param token what it presents to the safekeepers: the compute token of {@code timeline}
     *              (a compute agent) or a {@code safekeeperdata} token (tools, tests)
     */
    public Proposer(TimelineId timeline, List<Member> members, Duration timeout, String token) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("no safekeepers to elect from");
        }
        this.timeline = timeline;
        this.members = List.copyOf(members);
        this.timeout = timeout;
        this.token = Objects.requireNonNull(token, "token is null");
    }

    public int quorum() {
        return members.size() / 2 + 1;
    }

    /** Runs an election; returns once a majority of voters holds WAL up to the epoch start. */
    public Result elect() {
        long deadline = System.nanoTime() + timeout.toNanos();
        Term floor = Term.ZERO;
        for (int round = 1; round <= MAX_ROUNDS; round++) {
            Term term = highestKnownTerm(floor).next();
            Map<Member, VoteResponse> granted = new LinkedHashMap<>();
            Term highestRefusal = Term.ZERO;
            for (var e : callAll(m -> client(m).vote(timeline, term)).entrySet()) {
                VoteResponse v = e.getValue();
                if (v == null) {
                    continue;
                }
                if (v.granted()) {
                    granted.put(e.getKey(), v);
                } else if (v.promisedTerm().isAfter(highestRefusal)) {
                    highestRefusal = v.promisedTerm();
                }
            }
            if (granted.size() < quorum()) {
                log.info("timeline={} term {} got {} of {} votes needed; highest refusal term {}", timeline, term,
                        granted.size(), quorum(), highestRefusal);
                floor = Term.ZERO.compareTo(highestRefusal) < 0 ? highestRefusal : term;
                if (System.nanoTime() > deadline) {
                    break;
                }
                continue;
            }
            return complete(term, granted, deadline);
        }
        throw new ElectionFailedException("timeline " + timeline + ": no majority of " + members.size()
                + " safekeepers granted a vote (need " + quorum() + ")");
    }

    private Result complete(Term term, Map<Member, VoteResponse> granted, long deadline) {
        Map.Entry<Member, VoteResponse> donor = granted.entrySet().stream()
                .max(Comparator.comparing(e -> e.getValue().position()))
                .orElseThrow();
        VoteResponse d = donor.getValue();
        Lsn epochStart = d.flushLsn();
        TermHistory history = d.history().upTo(epochStart).append(new TermLsn(term, epochStart));
        ElectedRequest elected = new ElectedRequest(timeline, term, history, epochStart, donor.getKey().id(),
                donor.getKey().url().toString());
        log.info("timeline={} elected term {} with voters {} donor {} epochStart {}", timeline, term,
                granted.keySet().stream().map(Member::id).toList(), donor.getKey().id(), epochStart);
        List<NodeId> ready = new ArrayList<>();
        // To the voters at once, as the votes went: each persists the term history (a force),
        // and on the wake path one after another cost a force each.
        callAll(granted.keySet(), m -> {
            try {
                client(m).elected(elected);
            } catch (SafekeeperApiException e) {
                log.warn("timeline={} {} refused the elected message: {}", timeline, m.id(), e.getMessage());
            }
            return Boolean.TRUE;
        });
        // Wait until a majority holds WAL of this term up to the epoch start.
        while (true) {
            ready.clear();
            // an unreachable voter answers null: not ready
            callAll(granted.keySet(), m -> client(m).status(timeline)).forEach((m, s) -> {
                if (s != null && s.promisedTerm() == term.value() && s.lastLogTerm() == term.value()
                        && !s.flush().isBefore(epochStart)) {
                    ready.add(m.id());
                }
            });
            if (ready.size() >= quorum()) {
                return new Result(term, epochStart, history, donor.getKey().id(), donor.getKey().url().toString(),
                        List.copyOf(ready));
            }
            if (System.nanoTime() > deadline) {
                throw new ElectionFailedException("timeline " + timeline + ": term " + term + " elected, but only "
                        + ready + " reached the epoch start " + epochStart + " in time");
            }
            sleep(20);
        }
    }

    /**
     * Takes over a term that was elected elsewhere: the control plane's Elect step runs
     * {@link #elect()} and hands {@code (term, epochStart)} to a compute agent, which must start
     * Postgres at exactly that point and no other. Returns once a majority has promised
     * {@code term}, holds WAL of it up to {@code epochStart} and ends its term history with
     * {@code (term, epochStart)}; the result can then be used to stream and to bring in members
     * that missed the election, as after {@link #elect()}.
     *
     * @throws TermRefusedException   if a member has promised a higher term (a newer election
     *                                owns the timeline: this start must not happen)
     * @throws ElectionFailedException if no majority reaches that state within the timeout
     */
    public Result adopt(Term term, Lsn epochStart) {
        Objects.requireNonNull(term, "term is null");
        Objects.requireNonNull(epochStart, "epochStart is null");
        long deadline = System.nanoTime() + timeout.toNanos();
        String seen = "no safekeeper answered";
        while (true) {
            List<NodeId> ready = new ArrayList<>();
            Member donor = null;
            TermHistory history = null;
            StringBuilder states = new StringBuilder();
            for (var e : callAll(m -> client(m).status(timeline)).entrySet()) {
                Dto.Status s = e.getValue();
                if (s == null) {
                    continue;
                }
                if (s.promisedTerm() > term.value()) {
                    throw new TermRefusedException("timeline " + timeline + ": term " + term + " cannot be taken over: "
                            + e.getKey().id() + " has promised term " + s.promisedTerm(), Term.of(s.promisedTerm()));
                }
                TermHistory h = s.history();
                boolean endsHere = !h.isEmpty() && h.entries().getLast().equals(new TermLsn(term, epochStart));
                if (s.promisedTerm() == term.value() && s.lastLogTerm() == term.value() && endsHere
                        && !s.flush().isBefore(epochStart)) {
                    ready.add(e.getKey().id());
                    if (donor == null) {
                        donor = e.getKey();
                        history = h;
                    }
                }
                states.append(states.isEmpty() ? "" : ", ").append(e.getKey().id()).append(": promised ")
                        .append(s.promisedTerm()).append(", last log term ").append(s.lastLogTerm()).append(", flush ")
                        .append(s.flush());
            }
            if (!states.isEmpty()) {
                seen = states.toString();
            }
            if (ready.size() >= quorum()) {
                return new Result(term, epochStart, history, donor.id(), donor.url().toString(), List.copyOf(ready));
            }
            if (System.nanoTime() > deadline) {
                throw new ElectionFailedException("timeline " + timeline + ": term " + term + " at " + epochStart
                        + " is not held by a majority of " + members.size() + " safekeepers (" + seen + ")");
            }
            sleep(20);
        }
    }

    /**
     * Brings a member that missed the election (it was down) into its term: it votes for the
     * term if it has promised nothing higher, then truncates and recovers like any voter.
     * Returns false if it refused (it has promised a higher term).
     */
    public boolean bringIn(Member m, Result elected) {
        VoteResponse v = client(m).vote(timeline, elected.term());
        if (!v.granted() && !v.promisedTerm().equals(elected.term())) {
            return false;
        }
        client(m).elected(new ElectedRequest(timeline, elected.term(), elected.history(), elected.epochStart(),
                elected.donor(), elected.donorUrl()));
        return true;
    }

    /** Tells every member to stream from the compute of {@code result}'s term; returns who accepted. */
    public List<NodeId> streamFrom(ComputeAddress compute) {
        List<NodeId> accepted = new ArrayList<>();
        callAll(m -> {
            client(m).streamFrom(timeline, compute);
            return Boolean.TRUE;
        }).forEach((m, ok) -> {
            if (ok != null) {
                accepted.add(m.id());
            }
        });
        return accepted;
    }

    private Term highestKnownTerm(Term floor) {
        Term max = floor;
        for (Dto.Status s : callAll(m -> client(m).status(timeline)).values()) {
            if (s != null && s.promisedTerm() > max.value()) {
                max = Term.of(s.promisedTerm());
            }
        }
        return max;
    }

    private <T> Map<Member, T> callAll(java.util.function.Function<Member, T> call) {
        return callAll(members, call);
    }

    /** Calls each of {@code targets} on its own virtual thread; a member that failed maps to null. */
    private <T> Map<Member, T> callAll(Collection<Member> targets, java.util.function.Function<Member, T> call) {
        Map<Member, T> out = new LinkedHashMap<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Map<Member, CompletableFuture<T>> futures = new LinkedHashMap<>();
            for (Member m : targets) {
                futures.put(m, CompletableFuture.supplyAsync(() -> {
                    try {
                        return call.apply(m);
                    } catch (SafekeeperApiException e) {
                        log.info("timeline={} {}: {}", timeline, m.id(), e.getMessage());
                        return null;
                    }
                }, pool));
            }
            futures.forEach((m, f) -> out.put(m, f.join()));
        }
        return out;
    }

    private SafekeeperClient client(Member m) {
        return new SafekeeperClient(m.url(), token);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ElectionFailedException("interrupted");
        }
    }
}
