package dev.strata.safekeeper.http;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import dev.strata.safekeeper.election.ElectedRequest;
import dev.strata.safekeeper.election.ElectedResponse;
import dev.strata.safekeeper.election.VoteResponse;
import dev.strata.safekeeper.receive.ComputeAddress;
import dev.strata.safekeeper.timeline.TimelineStatus;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * The JSON shapes of the safekeeper management API (docs/safekeeper.md). LSNs travel as
 * PostgreSQL's {@code X/Y} text, timeline ids as 32 hex digits, system ids as unsigned
 * decimal text; conversion to the domain types happens here and fails with
 * {@link IllegalArgumentException} (HTTP 400) on bad input.
 */
public final class Dto {

    private Dto() {
    }

    @Serdeable
    public record TermLsnJson(long term, String lsn) {
        static TermLsnJson of(TermLsn t) {
            return new TermLsnJson(t.term().value(), t.lsn().toString());
        }
    }

    static List<TermLsnJson> historyJson(TermHistory h) {
        return h.entries().stream().map(TermLsnJson::of).toList();
    }

    static TermHistory parseHistory(List<TermLsnJson> h) {
        if (h == null) {
            return TermHistory.EMPTY; // the serializer omits empty lists
        }
        return new TermHistory(h.stream().map(e -> new TermLsn(Term.of(e.term()), parseLsn("termHistory.lsn", e.lsn()))).toList());
    }

    static Lsn parseLsn(String field, String text) {
        if (text == null) {
            throw new IllegalArgumentException(field + " is missing");
        }
        try {
            return Lsn.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage());
        }
    }

    static String required(String field, String value) {
        if (value == null) {
            throw new IllegalArgumentException(field + " is missing");
        }
        return value;
    }

    static Term parseTerm(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must be non-negative, got " + value);
        }
        return Term.of(value);
    }

    @Serdeable
    public record CreateTimeline(String timelineId, @Nullable String systemId, int walSegmentSize, String startLsn) {
        public TimelineId id() {
            return TimelineId.parse(timelineId);
        }

        public long system() {
            if (systemId == null || systemId.isEmpty()) {
                return 0;
            }
            try {
                return Long.parseUnsignedLong(systemId);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("systemId must be an unsigned decimal number, got '" + systemId + "'");
            }
        }

        public Lsn start() {
            return parseLsn("startLsn", startLsn);
        }
    }

    /** The position datagram socket: its UDP port and what it took and dropped (see docs/safekeeper.md). */
    @Serdeable
    public record Gossip(int udpPort, long received, long dropped, String lastDropReason) {
        public static Gossip of(dev.strata.safekeeper.gossip.PositionGossip g) {
            return new Gossip(g.port(), g.received(), g.rejected(), g.lastRejection());
        }
    }

    @Serdeable
    public record Status(String timelineId, long promisedTerm, long lastLogTerm, List<TermLsnJson> termHistory,
                         String timelineStartLsn, String flushLsn, String commitLsn, String remoteConsistentLsn,
                         String walRetainedFromLsn, String receiver, String offloadedLsn, long offloadBacklogBytes) {
        /**
         * {@code offloadedLsn}: WAL below it is in object storage ("0/0" without remote storage);
         * {@code offloadBacklogBytes}: committed WAL in complete segments not yet uploaded.
         */
        public static Status of(TimelineStatus s, int segmentSize) {
            return new Status(s.timelineId().toString(), s.promisedTerm().value(), s.lastLogTerm().value(),
                    historyJson(s.termHistory()), s.timelineStartLsn().toString(), s.flushLsn().toString(),
                    s.commitLsn().toString(), s.remoteConsistentLsn().toString(), s.walRetainedFromLsn().toString(),
                    s.receiver(), s.offloadedLsn().toString(), s.offloadBacklogBytes(segmentSize));
        }

        public static Status of(dev.strata.safekeeper.timeline.Timeline t) {
            return of(t.status(), t.wal().segmentSize());
        }

        public Lsn offloaded() {
            return Lsn.parse(offloadedLsn);
        }

        public Lsn flush() {
            return Lsn.parse(flushLsn);
        }

        public Lsn commit() {
            return Lsn.parse(commitLsn);
        }

        public TermHistory history() {
            return parseHistory(termHistory);
        }
    }

    @Serdeable
    public record Vote(long term) {
    }

    @Serdeable
    public record VoteResult(boolean granted, long promisedTerm, List<TermLsnJson> termHistory, String flushLsn,
                             String timelineStartLsn) {
        public static VoteResult of(VoteResponse r) {
            return new VoteResult(r.granted(), r.promisedTerm().value(), historyJson(r.history()), r.flushLsn().toString(),
                    r.timelineStartLsn().toString());
        }

        public VoteResponse toDomain() {
            return new VoteResponse(granted, Term.of(promisedTerm), parseHistory(termHistory), parseLsn("flushLsn", flushLsn),
                    parseLsn("timelineStartLsn", timelineStartLsn));
        }
    }

    @Serdeable
    public record Elected(long term, List<TermLsnJson> termHistory, String epochStartLsn, String donor, String donorUrl) {
        public static Elected of(ElectedRequest r) {
            return new Elected(r.term().value(), historyJson(r.history()), r.epochStartLsn().toString(), r.donor().value(),
                    r.donorUrl());
        }

        public ElectedRequest toDomain(TimelineId id) {
            if (donor == null || donorUrl == null) {
                throw new IllegalArgumentException("donor and donorUrl are required");
            }
            return new ElectedRequest(id, parseTerm("term", term), parseHistory(termHistory), parseLsn("epochStartLsn", epochStartLsn),
                    NodeId.of(donor), donorUrl);
        }
    }

    @Serdeable
    public record ElectedResult(long term, String flushLsn, boolean needsRecovery) {
        public static ElectedResult of(ElectedResponse r) {
            return new ElectedResult(r.term().value(), r.flushLsn().toString(), r.needsRecovery());
        }
    }

    @Serdeable
    public record StreamFrom(long term, String host, int port, String user, String password) {
        public ComputeAddress toDomain() {
            return new ComputeAddress(parseTerm("term", term), required("host", host), port, required("user", user),
                    required("password", password));
        }
    }

    @Serdeable
    public record Error(String error, String message) {
    }
}
