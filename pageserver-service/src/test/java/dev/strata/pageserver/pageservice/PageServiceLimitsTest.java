package dev.strata.pageserver.pageservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.http.PageserverConfig;
import dev.strata.pageserver.http.PageserverNode;
import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page service's bounds (docs/pageserver.md, "Limits"), on a real initdb timeline: waits for
 * WAL and basebackups in flight do not starve GetPage, basebackups are bounded, and connections
 * past the limit are refused while the others keep working. The page service has only 2 GetPage
 * workers here, fewer than the waits and basebackups held open, so before the lanes existed a
 * GetPage queued behind them until their waits timed out.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PageServiceLimitsTest {

    private static final int WORKERS = 2;
    private static final PageServiceLimits LIMITS = new PageServiceLimits(1000, 16, 2);

    @TempDir
    static Path dir;
    static PageserverNode node;
    static TimelineId tl;
    static int dbOid;
    static int relNumber;

    @BeforeAll
    static void start() {
        PageserverConfig local = TestPageservers.config(dir);
        node = new PageserverNode(new PageserverConfig(local.dataDir(), local.listenHost(), 0, 0, WORKERS,
                local.replicationUser(), local.storage(), local.timelineOptions(), local.verifier()), LIMITS);
        tl = TimelineId.random();
        node.timelines().create(new TimelineManager.CreateRequest(tl, null, true, false, List.of()));
        try (PageserverClient c = client()) {
            DbDirectory.Db db = c.listDatabases(tl, Lsn.INVALID).stream().filter(d -> d.spcOid() == 1663)
                    .reduce((a, b) -> b).orElseThrow();
            dbOid = db.dbOid();
            for (RelDirectory.RelFork r : c.listRelations(tl, Lsn.INVALID, 1663, dbOid)) {
                if (r.fork() == 0 && c.relationSize(tl, Lsn.INVALID, 1663, dbOid, r.relNumber(), 0) > 0) {
                    relNumber = r.relNumber();
                    break;
                }
            }
            assertThat(relNumber).as("a relation with a block in the initdb timeline").isNotZero();
        }
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void getPageIsAnsweredWhileMoreWaitsForWalThanWorkersAreInFlight() throws Exception {
        Lsn future = node.timelines().get(tl).lastRecordLsn().plus(64L << 20);
        int waits = 3 * WORKERS;
        List<PageserverClient> waiting = new ArrayList<>();
        List<CompletableFuture<Object>> outcomes = new ArrayList<>();
        try {
            for (int i = 0; i < waits; i++) {
                PageserverClient c = client();
                waiting.add(c);
                outcomes.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return c.waitForLsn(tl, future, Duration.ofSeconds(60));
                    } catch (RuntimeException e) {
                        return e;
                    }
                }));
            }
            // Give the waits time to arrive (not asserted here: without the wait lane they sat on
            // the workers, uncounted, and the GetPage below is what must then fail).
            for (int i = 0; i < 100 && node.pageServer().waitingForWal() < waits; i++) {
                Thread.sleep(100);
            }
            try (PageserverClient reader = client()) {
                byte[] page = reader.getPageAsync(tl, Lsn.INVALID, 1663, dbOid, relNumber, 0, 0).get(30, TimeUnit.SECONDS);
                assertThat(page).hasSize(PageProtocol.PAGE_SIZE);
                assertThat(reader.relationSize(tl, Lsn.INVALID, 1663, dbOid, relNumber, 0)).isPositive();
            }
            assertThat(outcomes).noneMatch(CompletableFuture::isDone); // still waiting: nothing ingested
            assertThat(node.pageServer().waitingForWal()).isEqualTo(waits);
        } finally {
            waiting.forEach(PageserverClient::close);
        }
    }

    @Test
    void basebackupsAreBoundedAndDoNotStarveGetPage() throws Exception {
        List<Socket> stalled = new ArrayList<>();
        try {
            // Basebackups whose clients never read: each holds its lane thread, blocked on a full socket.
            for (int i = 0; i < LIMITS.maxBasebackups(); i++) {
                Socket s = new Socket();
                s.setReceiveBufferSize(4096);
                s.connect(new InetSocketAddress("127.0.0.1", node.pageServicePort()), 5000);
                // Authenticated like any client (the Authenticated reply is never read either).
                s.getOutputStream().write(PageCodec.encode(new ClientFrame.Authenticate(1, TestPageservers.token())));
                s.getOutputStream().write(PageCodec.encodeRequest(new PageRequest.Basebackup(2, tl, Lsn.INVALID, 0)));
                s.getOutputStream().flush();
                stalled.add(s);
            }
            awaitAtLeast(() -> node.pageServer().basebackupsInFlight(), LIMITS.maxBasebackups());
            try (PageserverClient c = client()) {
                assertThatThrownBy(() -> c.basebackup(tl, Lsn.INVALID, OutputStream.nullOutputStream()))
                        .isInstanceOfSatisfying(TimelineException.class,
                                e -> assertThat(e.kind()).isEqualTo(TimelineException.Kind.OVERLOADED))
                        .hasMessageContaining("2 basebackups").hasMessageContaining("limit");
                byte[] page = c.getPageAsync(tl, Lsn.INVALID, 1663, dbOid, relNumber, 0, 0).get(30, TimeUnit.SECONDS);
                assertThat(page).hasSize(PageProtocol.PAGE_SIZE);
            }
        } finally {
            for (Socket s : stalled) {
                s.close();
            }
        }
        // The stalled ones fail on their closed sockets and give their permits back.
        awaitAtMost(() -> node.pageServer().basebackupsInFlight(), 0);
        try (PageserverClient c = client()) {
            long[] bytes = new long[1];
            c.basebackup(tl, Lsn.INVALID, new OutputStream() {
                @Override
                public void write(int b) {
                    bytes[0]++;
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    bytes[0] += len;
                }
            });
            assertThat(bytes[0]).isGreaterThan(1 << 20);
        }
    }

    @Test
    void aConnectionOverTheLimitGetsAnErrorFrameAndTheOthersKeepWorking() throws Exception {
        try (PageServer small = PageServer.start("127.0.0.1", 0, new PageService(node.timelines()), WORKERS,
                TestPageservers.AUTH.verifier(), new PageServiceLimits(3, 16, 2))) {
            List<PageserverClient> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    PageserverClient c = new PageserverClient("127.0.0.1", small.port(), TestPageservers.token());
                    held.add(c);
                    assertThat(c.relationSize(tl, Lsn.INVALID, 1663, dbOid, relNumber, 0)).isPositive();
                }
                try (Socket over = new Socket()) {
                    over.connect(new InetSocketAddress("127.0.0.1", small.port()), 5000);
                    over.setSoTimeout(20_000);
                    DataInputStream in = new DataInputStream(over.getInputStream());
                    byte[] frame = new byte[in.readInt()];
                    in.readFully(frame);
                    PageResponse.Error e = (PageResponse.Error) PageCodec.decodeResponse(ByteBuffer.wrap(frame));
                    assertThat(e.requestId()).isZero();
                    assertThat(TimelineException.Kind.ofCode(e.code())).isEqualTo(TimelineException.Kind.OVERLOADED);
                    assertThat(e.message()).contains("too many connections to the page service (limit 3)");
                    assertThat(in.read()).as("closed after the error").isEqualTo(-1);
                }
                for (PageserverClient c : held) {
                    assertThat(c.getPage(tl, Lsn.INVALID, 1663, dbOid, relNumber, 0, 0)).hasSize(PageProtocol.PAGE_SIZE);
                }
            } finally {
                held.forEach(PageserverClient::close);
            }
            awaitAtMost(small::openConnections, 0);
            try (PageserverClient again = new PageserverClient("127.0.0.1", small.port(), TestPageservers.token())) {
                assertThat(again.relationSize(tl, Lsn.INVALID, 1663, dbOid, relNumber, 0)).isPositive();
            }
        }
    }

    private static PageserverClient client() {
        return new PageserverClient("127.0.0.1", node.pageServicePort(), TestPageservers.token());
    }

    private static void awaitAtLeast(IntSupplier value, int atLeast) throws InterruptedException {
        for (int i = 0; i < 300 && value.getAsInt() < atLeast; i++) {
            Thread.sleep(100);
        }
        assertThat(value.getAsInt()).isGreaterThanOrEqualTo(atLeast);
    }

    private static void awaitAtMost(IntSupplier value, int atMost) throws InterruptedException {
        for (int i = 0; i < 300 && value.getAsInt() > atMost; i++) {
            Thread.sleep(100);
        }
        assertThat(value.getAsInt()).isLessThanOrEqualTo(atMost);
    }
}
