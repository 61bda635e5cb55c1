package dev.strata.safekeeper.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import dev.strata.safekeeper.election.ElectedRequest;
import dev.strata.safekeeper.election.PeerPosition;
import dev.strata.safekeeper.election.VoteRequest;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.testing.TestSafekeepers;
import dev.strata.safekeeper.timeline.TimelineStatus;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile datagrams on a running safekeeper's gossip port (UDP, the management API's port
 * number): junk, forgeries, strangers, a peer lying about its position. Each is dropped and
 * counted; the socket keeps taking good datagrams, and a lie cannot move the commit LSN.
 */
class PositionGossipHostileInputTest {

    private static final Lsn START = Lsn.parse("0/1000000");
    private static final String SECRET = "secret";

    @TempDir
    static Path dir;
    static SafekeeperServer sk;
    static TimelineId tl;
    static DatagramSocket socket;
    /** Sequences for the datagrams sent as peers: increasing across tests, whatever their order. */
    static final java.util.concurrent.atomic.AtomicLong SEQUENCE =
            new java.util.concurrent.atomic.AtomicLong(System.currentTimeMillis() * 1000 + 3_600_000_000L);

    @BeforeAll
    static void start() throws Exception {
        sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, SECRET));
        // Peers that are never reached: positions sent to them are lost quietly.
        sk.node().setPeers(Map.of(NodeId.of("sk-2"), URI.create("http://127.0.0.1:9"),
                NodeId.of("sk-3"), URI.create("http://127.0.0.1:9")));
        tl = TimelineId.random();
        sk.node().createTimeline(tl, 42, 16 << 20, START);
        assertThat(sk.node().vote(new VoteRequest(tl, Term.of(1))).granted()).isTrue();
        sk.node().elected(new ElectedRequest(tl, Term.of(1), TermHistory.of(new TermLsn(Term.of(1), START)), START,
                NodeId.of("sk-1"), sk.url().toString()));
        socket = new DatagramSocket(0, InetAddress.getLoopbackAddress());
    }

    @AfterAll
    static void stop() {
        if (socket != null) {
            socket.close();
        }
        if (sk != null) {
            sk.close();
        }
    }

    private static PositionGossip gossip() {
        return sk.node().positionGossip().orElseThrow();
    }

    private static void send(byte[] datagram) throws Exception {
        socket.send(new DatagramPacket(datagram, datagram.length, InetAddress.getLoopbackAddress(), sk.url().getPort()));
    }

    private static byte[] signed(String sender, long seq, TimelineId timeline, long promised, long lastLog, Lsn flush) {
        NodeId node = NodeId.of(sender);
        return new PositionCodec(SECRET).encode(new PositionDatagram(node, seq, List.of(new PositionDatagram.Entry(timeline,
                new PeerPosition(node, Term.of(promised), Term.of(lastLog), flush, START)))));
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** Sends {@code bad}, then a good datagram: the bad one is counted as dropped, the good one still taken. */
    private static void assertDroppedAndStillServing(byte[] bad, String reason) throws Exception {
        long rejected = gossip().rejected();
        long received = gossip().received();
        send(bad);
        await("the bad datagram is dropped", () -> gossip().rejected() > rejected);
        assertThat(gossip().lastRejection()).contains(reason);
        send(signed("sk-3", SEQUENCE.incrementAndGet(), tl, 1, 1, START));
        await("a good datagram is still taken", () -> gossip().received() > received);
    }

    @Test
    void junkIsDropped() throws Exception {
        Random r = new Random(1);
        long before = gossip().rejected();
        for (int i = 0; i < 50; i++) {
            byte[] junk = new byte[1 + r.nextInt(1400)];
            r.nextBytes(junk);
            send(junk);
        }
        // All of them dropped before the next checks, whose reasons must not be mixed up with these.
        await("50 junk datagrams dropped", () -> gossip().rejected() >= before + 50);
        assertDroppedAndStillServing(new byte[]{1, 2, 3}, "too short");
        assertDroppedAndStillServing(new byte[9000], "too long");
        // The management API shows what was dropped, and why.
        java.net.http.HttpResponse<String> answer = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(sk.url().resolve("/v1/gossip"))
                        .header("Authorization", "Bearer " + TestSafekeepers.dataToken()).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).contains("\"udpPort\":" + sk.url().getPort()).contains("\"dropped\":")
                .doesNotContain("\"dropped\":0,");
    }

    @Test
    void aForgeryIsDropped() throws Exception {
        byte[] forged = new PositionCodec("not the secret").encode(new PositionDatagram(NodeId.of("sk-2"), 1,
                List.of(new PositionDatagram.Entry(tl, new PeerPosition(NodeId.of("sk-2"), Term.of(1), Term.of(1),
                        Lsn.parse("FFFF/0"), START)))));
        assertDroppedAndStillServing(forged, "bad signature");
    }

    @Test
    void aStrangerOrAnImpostorOfThisNodeIsDropped() throws Exception {
        assertDroppedAndStillServing(signed("sk-9", 1, tl, 1, 1, START), "sk-9 is not a configured peer");
        assertDroppedAndStillServing(signed("sk-1", 1, tl, 1, 1, START), "claims to be this node");
    }

    @Test
    void anUnknownTimelineIsIgnoredNotFatal() throws Exception {
        long received = gossip().received();
        send(signed("sk-2", SEQUENCE.incrementAndGet(), TimelineId.random(), 1, 1, START));
        await("taken", () -> gossip().received() > received);
        assertThat(sk.node().requireTimeline(tl).status().commitLsn()).isEqualTo(START);
    }

    /** A peer that lies about its flush LSN raises only its own entry: a majority is needed. */
    @Test
    void aPeerClaimingAHugeFlushCannotAdvanceTheCommitLsnAlone() throws Exception {
        long received = gossip().received();
        send(signed("sk-2", SEQUENCE.incrementAndGet(), tl, 1, 1, Lsn.parse("FFFF/0")));
        await("taken", () -> gossip().received() > received);
        Thread.sleep(300); // several exchange rounds
        TimelineStatus s = sk.node().requireTimeline(tl).status();
        assertThat(s.flushLsn()).isEqualTo(START);
        assertThat(s.commitLsn()).isEqualTo(START);
    }

    /** A replayed (or late) datagram is older than the newest taken from its sender: not taken again. */
    @Test
    void aReplayedDatagramIsNotTakenTwice() throws Exception {
        byte[] d = signed("sk-3", SEQUENCE.incrementAndGet(), tl, 1, 1, START);
        long received = gossip().received();
        send(d);
        await("taken", () -> gossip().received() > received);
        send(d);
        send(signed("sk-3", SEQUENCE.incrementAndGet(), tl, 1, 1, START));
        await("the next one is taken", () -> gossip().received() > received + 1);
        Thread.sleep(100);
        assertThat(gossip().received()).isEqualTo(received + 2);
    }
}
