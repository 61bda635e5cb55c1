package dev.strata.pageserver.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.replication.ReplicationClient;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.RmgrId;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without wal_consistency_checking, records without images are stored for Java redo; a record
 * with neither an image nor a redo routine must stop ingest with an error naming the record, and
 * readers must get that error (not a timeout, not a page). Before that, a reader asking for an
 * LSN nobody will reach gets a bounded wait.
 *
 * <p>Since SP-GiST got Java redo (decision 0030) no PG 17 record that changes a page is left
 * without a routine, so the first test injects the fault: a registry whose SP-GiST entry acts as
 * if SP-GiST had no routine (every block without an image stops ingest, with the message
 * {@code IngestContext.putImagesOrStop} gives). An insert into an SP-GiST index right after its
 * build writes ADD_LEAF without a page image (the build logged the index's pages as forced
 * images, which ingest stores, so the leaf's LSN is past the checkpoint's redo pointer and
 * full_page_writes adds no image). (Before, the record used here was hash's INIT_META_PAGE, then
 * a Gin INSERT, then this ADD_LEAF with the default registry.)
 */
class IngestStopTest {

    private static final int SEGMENT = 16 << 20;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aRecordWithoutImageOrRedoStopsTheTimelineAndReadersSeeWhy(@TempDir Path dir) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (PostgresServer pg = PostgresServer.builder().setting("wal_level", "replica").start();
             Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement();
             LayerStore store = LayerStore.create(dir.resolve("timeline"), TimelineId.random(),
                     nextSegment(s), StorageConfig.DEFAULTS)) {
            Lsn start = store.lastRecordLsn();
            WalIngest ingest = new WalIngest(store, withoutSpgistRedo(), false, TimelineBase.WAL_ONLY);
            ReplicationClient.Options options = new ReplicationClient.Options(pg.host(), pg.port(), pg.user(),
                    pg.password(), "pageserver-stop", Duration.ofSeconds(5));
            try (WalReceiver receiver = new WalReceiver(ingest, start, options, group).start()) {
                long t0 = System.nanoTime();
                assertThatThrownBy(() -> receiver.awaitLsn(start.plus(1L << 30), Duration.ofMillis(300)))
                        .isInstanceOf(WalWaitTimeoutException.class)
                        .hasMessageContaining("not ingested after 300 ms");
                assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(5));

                s.execute("CREATE TABLE t (id int, p point)");
                s.execute("INSERT INTO t VALUES (1, point(1, 2))");
                Lsn heapDone = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
                receiver.awaitLsn(heapDone, Duration.ofSeconds(60)); // heap records: Java redo, no stop
                s.execute("CREATE INDEX t_p ON t USING spgist (p)");
                s.execute("INSERT INTO t VALUES (2, point(3, 4))");
                Lsn end = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));

                assertThatThrownBy(() -> receiver.awaitLsn(end, Duration.ofSeconds(60)))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("(rmgr SPGist, ADD_LEAF")
                        .hasMessageContaining("without a page image");
                IngestException stop = (IngestException) receiver.failure();
                assertThat(stop.rmgr()).isEqualTo("SPGist");
                assertThat(stop.recordType()).isEqualTo("ADD_LEAF");
                assertThat(stop.lsn()).isGreaterThan(heapDone);
                assertThat(ingest.storedRecordCounts()).containsKey("Heap/INSERT+INIT");
                assertThat(stop.lsn()).isGreaterThan(start);
                assertThat(stop.getMessage()).contains(stop.lsn().toString());
                assertThat(receiver.state()).startsWith("stopped: ");
                // Nothing past the record before the failed one was claimed.
                assertThat(receiver.lastRecordLsn()).isLessThanOrEqualTo(stop.lsn());
                assertThat(store.lastRecordLsn()).isEqualTo(receiver.lastRecordLsn());
                assertThat(ingest.stopped()).isSameAs(stop);
            }
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * A handler that fails after putting pages leaves nothing of that record in the store: a
     * later flush cannot make half a record durable. Also shows a registry entry replaced.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aRecordThatFailsHalfwayLeavesNothingInTheStore(@TempDir Path dir) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (PostgresServer pg = PostgresServer.builder().setting("wal_level", "replica")
                .setting("wal_consistency_checking", "all").start();
             Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement();
             LayerStore store = LayerStore.create(dir.resolve("timeline"), TimelineId.random(),
                     nextSegment(s), StorageConfig.DEFAULTS)) {
            Lsn start = store.lastRecordLsn();
            RmgrRegistry registry = RmgrRegistry.defaults().register(RmgrId.HEAP, (r, ctx) -> {
                ctx.putImagesOrStop(r);
                if (!r.blocks().isEmpty()) {
                    throw new IngestException(r, "test: fails after putting its pages");
                }
            });
            WalIngest ingest = new WalIngest(store, registry, false, TimelineBase.WAL_ONLY);
            ReplicationClient.Options options = new ReplicationClient.Options(pg.host(), pg.port(), pg.user(),
                    pg.password(), "pageserver-halfway", Duration.ofSeconds(5));
            try (WalReceiver receiver = new WalReceiver(ingest, start, options, group).start()) {
                s.execute("CREATE TABLE t (id int)");
                Lsn end = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
                assertThatThrownBy(() -> receiver.awaitLsn(end, Duration.ofSeconds(60)))
                        .hasMessageContaining("test: fails after putting its pages");
                IngestException stop = (IngestException) receiver.failure();
                assertThat(stop.rmgr()).isEqualTo("Heap");
                // Every put moves the store's last record LSN; none happened at the failed record's end.
                assertThat(store.lastRecordLsn()).isLessThanOrEqualTo(stop.lsn());
                assertThat(store.lastRecordLsn()).isEqualTo(receiver.lastRecordLsn());
                assertThatThrownBy(() -> ingest.ingest(null)).isSameAs(stop);
            }
            try (WalReceiver closed = new WalReceiver(new WalIngest(store, RmgrRegistry.defaults(), false,
                    TimelineBase.WAL_ONLY), start, options, group)) {
                closed.close();
                assertThatThrownBy(() -> closed.awaitLsn(start.plus(1L << 30), Duration.ofSeconds(30)))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            }
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * The default registry, but SP-GiST records are ingested as if SP-GiST had no Java redo (a
     * fault in test code only): a block without an image stops ingest.
     */
    private static RmgrRegistry withoutSpgistRedo() {
        return RmgrRegistry.defaults().register(RmgrId.SPGIST, (r, ctx) -> {
            for (BlockReference b : r.blocks()) {
                if (!b.hasImage()) {
                    throw new IngestException(r, "block " + b.locator() + " fork " + b.forkNumber() + " blk "
                            + b.blockNumber() + " is modified without a page image, and this record type has no redo"
                            + " in the pageserver (test: SP-GiST's routine dropped)");
                }
            }
            ctx.putImagesOrStop(r);
        });
    }

    private static Lsn nextSegment(Statement s) throws Exception {
        Lsn switched = Lsn.parse(scalar(s, "SELECT pg_switch_wal()"));
        return Lsn.ofSegment(Lsn.of(switched.value() - 1).segmentNumber(SEGMENT) + 1, SEGMENT);
    }

    private static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
