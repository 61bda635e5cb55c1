package dev.strata.safekeeper.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import dev.strata.safekeeper.election.ElectedRequest;
import dev.strata.safekeeper.election.VoteRequest;
import dev.strata.safekeeper.testing.RealWal;
import dev.strata.safekeeper.timeline.Timeline;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peer recovery checks donor WAL exactly as compute WAL is checked (decision 0001): a hostile
 * donor (a real HTTP server on loopback serving real PG17 WAL with a flipped byte) gets nothing
 * from the bad record on stored; an honest one brings the voter up to the epoch start.
 */
class PeerRecoveryTest {

    private static final int SEG = 16 << 20;
    private static final String TOKEN = "the-voter's-token";
    /** The Authorization header of each request the fake donor served. */
    private static final List<String> presented = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static final TimelineId TL = TimelineId.parse("0a0a0000000000000000000000000001");
    private static byte[] wal;
    private static Lsn start;
    private static long systemId;
    private static List<Lsn> recordEnds;

    @BeforeAll
    static void realWal() throws Exception {
        RealWal real = RealWal.generate(2000);
        wal = real.bytes();
        start = real.start();
        systemId = real.systemId();
        recordEnds = real.recordEnds();
        assertThat(recordEnds.size()).as("enough records to corrupt one in the middle").isGreaterThan(200);
    }

    /** A donor's WAL read API on loopback serving {@code bytes} (laid out from {@link #start}). */
    private static HttpServer donor(byte[] bytes) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/timelines/", exchange -> {
            presented.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
            Map<String, String> q = new HashMap<>();
            for (String kv : exchange.getRequestURI().getQuery().split("&")) {
                String[] p = kv.split("=", 2);
                q.put(p[0], p[1]);
            }
            int from = (int) Lsn.parse(q.get("from")).minus(start);
            int to = (int) Math.min(Lsn.parse(q.get("to")).minus(start), bytes.length);
            exchange.sendResponseHeaders(200, to - from);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes, from, to - from);
            }
        });
        server.start();
        return server;
    }

    private static Timeline electedVoter(Path dir, Lsn epochStart, HttpServer donor) {
        Timeline t = Timeline.create(dir, TL, systemId, SEG, start);
        t.vote(new VoteRequest(TL, Term.of(1)));
        ElectedRequest e = elected(epochStart, donor);
        assertThat(t.acceptor().elected(e).needsRecovery()).isTrue();
        return t;
    }

    private static ElectedRequest elected(Lsn epochStart, HttpServer donor) {
        return new ElectedRequest(TL, Term.of(1), TermHistory.EMPTY.append(TermLsn.of(1, epochStart)), epochStart,
                NodeId.of("sk-donor"), "http://127.0.0.1:" + donor.getAddress().getPort());
    }

    private static byte[] held(Timeline t) {
        Lsn end = t.acceptor().state().flushLsn();
        byte[] out = new byte[(int) end.minus(start)];
        int pos = 0;
        while (pos < out.length) {
            byte[] chunk = t.wal().read(start.plus(pos), out.length - pos);
            System.arraycopy(chunk, 0, out, pos, chunk.length);
            pos += chunk.length;
        }
        return out;
    }

    @Test
    void anHonestDonorBringsTheVoterToTheEpochStart(@TempDir Path dir) throws Exception {
        Lsn epochStart = recordEnds.getLast();
        HttpServer donor = donor(wal);
        try (Timeline t = electedVoter(dir, epochStart, donor)) {
            PeerRecovery.run(t, elected(epochStart, donor), NodeId.of("sk-voter"), TOKEN);
            assertThat(t.acceptor().state().flushLsn()).isEqualTo(epochStart);
            assertThat(held(t)).isEqualTo(wal);
            // The donor is asked with the voter's own token: a safekeeperdata one, in production.
            assertThat(presented).isNotEmpty().allMatch(h -> h.equals("Bearer " + TOKEN));
        } finally {
            donor.stop(0);
        }
    }

    @Test
    void aDonorServingACorruptRecordGetsNothingFromThatRecordOnStored(@TempDir Path dir) throws Exception {
        Lsn epochStart = recordEnds.getLast();
        int bad = recordEnds.size() / 2;
        Lsn badStart = recordEnds.get(bad - 1);
        byte[] corrupt = wal.clone();
        corrupt[(int) (badStart.minus(start) + (recordEnds.get(bad).minus(badStart)) / 2)] ^= 0x5A;
        HttpServer donor = donor(corrupt);
        try (Timeline t = electedVoter(dir, epochStart, donor)) {
            PeerRecovery.run(t, elected(epochStart, donor), NodeId.of("sk-voter"), TOKEN);
            Lsn flushed = t.acceptor().state().flushLsn();
            // Before validation, every donor byte was appended and the flush LSN reached the epoch start.
            assertThat(flushed).as("stopped before the corrupt record").isLessThanOrEqualTo(badStart);
            assertThat(t.wal().writeLsn()).as("nothing of the bad record appended").isLessThanOrEqualTo(badStart);
            assertThat(recordEnds).as("the WAL held ends at a record boundary").contains(flushed);
            assertThat(held(t)).isEqualTo(Arrays.copyOf(wal, (int) flushed.minus(start)));
        } finally {
            donor.stop(0);
        }
    }

    @Test
    void aDonorServingGarbageGetsNothingStored(@TempDir Path dir) throws Exception {
        Lsn epochStart = recordEnds.getLast();
        byte[] garbage = new byte[wal.length];
        new java.util.Random(5).nextBytes(garbage);
        HttpServer donor = donor(garbage);
        try (Timeline t = electedVoter(dir, epochStart, donor)) {
            PeerRecovery.run(t, elected(epochStart, donor), NodeId.of("sk-voter"), TOKEN);
            assertThat(t.acceptor().state().flushLsn()).isEqualTo(start);
            assertThat(t.wal().writeLsn()).isEqualTo(start);
        } finally {
            donor.stop(0);
        }
    }
}
