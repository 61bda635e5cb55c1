package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.ingest.RmgrRegistry;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.ingest.WalIngest;
import dev.strata.pageserver.ingest.WalReceiver;
import dev.strata.pageserver.testing.WalOracle;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RmgrId;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;

/**
 * The harness of the redo oracle tests: the WAL of a workload on a consistency-checking primary
 * ({@link WalOracle#consistencyCheckingPrimary}) streamed through two {@link WalReceiver}s into
 * two {@link WalIngest}s, one checked by the default routines and one by routines with a fault
 * injected on purpose (in test code only), so a wrong routine cannot pass unnoticed.
 *
 * <p>The timeline starts on a fresh segment, then database {@code redo} is created with the
 * WAL_LOG strategy: its relations reach the store as page images, so every record of the
 * workload (which runs there) has a previous version to replay on.
 */
final class RedoOracleRun {

    /** The workload: runs in database {@code redo}, returns a record end at or after its last record. */
    @FunctionalInterface
    interface Workload {
        Lsn run(PostgresServer pg) throws Exception;
    }

    /** A fault applied to a block after the default routine replayed it. */
    @FunctionalInterface
    interface Fault {
        void corrupt(DecodedRecord r, BlockReference b, byte[] page);
    }

    /** The good and the faulty oracle after the same WAL. */
    record Result(RedoOracle oracle, RedoOracle faulty) {

        Map<String, RedoOracle.Counts> counts() {
            return oracle.snapshot();
        }

        /** Logs both tables, with the oracle's time on the ingest thread. */
        void log(Logger log, String workload, String fault) {
            long records = counts().values().stream().mapToLong(RedoOracle.Counts::seen).sum();
            log.info("redo oracle, {}:\n{}oracle time on the ingest thread: {} ms for {} records", workload,
                    oracle.table(), oracle.nanosSpent() / 1_000_000, records);
            log.info("same WAL with {}:\n{}", fault, faulty.table());
        }

        /**
         * No mismatch, no record of a checked manager without a routine, and each required type
         * verified at least {@code minVerified} times.
         */
        void assertAllAgree(String[] required, int minVerified) {
            assertThat(oracle.mismatches()).as("records whose Java redo disagrees with the image (see the WARN lines)")
                    .isZero();
            Map<String, RedoOracle.Counts> counts = counts();
            for (String type : required) {
                RedoOracle.Counts c = counts.get(type);
                assertThat(c).as(type + " never seen: the workload no longer reaches it").isNotNull();
                assertThat(c.verified()).as(type + " verified").isGreaterThanOrEqualTo(minVerified);
            }
            for (Map.Entry<String, RedoOracle.Counts> e : counts.entrySet()) {
                assertThat(e.getValue().noRoutine()).as(e.getKey() + " without a routine").isZero();
            }
        }

        /** Every record of {@code type} the good oracle verified is a mismatch for the faulty one, and nothing else is. */
        void assertFaultCaughtOnlyAt(String type) {
            RedoOracle.Counts broken = faulty.snapshot().get(type);
            assertThat(broken).as(type + " never reached the faulty oracle").isNotNull();
            assertThat(broken.mismatched()).isEqualTo(counts().get(type).verified()).isPositive();
            assertThat(broken.verified()).isZero();
            assertThat(faulty.mismatches()).isEqualTo(broken.mismatched());
        }
    }

    private RedoOracleRun() {
    }

    /**
     * Runs {@code workload} on {@code pg} with both oracles ingesting; waits (up to 300 s) until
     * both receivers reached its end, and asserts neither stopped.
     */
    static Result run(PostgresServer pg, Path dir, String name, Map<Integer, RmgrRedo> faultyRoutines,
                      Workload workload) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try {
            Lsn start;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                start = WalOracle.freshSegment(s);
                s.execute("CREATE DATABASE redo STRATEGY WAL_LOG");
            }
            RedoOracle oracle = RedoOracle.defaults();
            RedoOracle faulty = new RedoOracle(faultyRoutines, true);
            try (LayerStore store = LayerStore.create(dir.resolve("good"), TimelineId.random(), start, StorageConfig.DEFAULTS);
                 LayerStore store2 = LayerStore.create(dir.resolve("faulty"), TimelineId.random(), start, StorageConfig.DEFAULTS)) {
                WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY,
                        Lsn.INVALID, oracle);
                WalIngest ingest2 = new WalIngest(store2, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY,
                        Lsn.INVALID, faulty);
                try (WalReceiver receiver = new WalReceiver(ingest, start,
                        WalOracle.replication(pg, name + "-good"), group).start();
                     WalReceiver receiver2 = new WalReceiver(ingest2, start,
                             WalOracle.replication(pg, name + "-faulty"), group).start()) {
                    Lsn end = workload.run(pg);
                    receiver.awaitLsn(end, Duration.ofSeconds(300));
                    receiver2.awaitLsn(end, Duration.ofSeconds(300));
                    assertThat(receiver.failure()).isNull();
                    assertThat(receiver2.failure()).as("the oracle must never stop ingest").isNull();
                }
            }
            return new Result(oracle, faulty);
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** The default routines, but {@code rmgr}'s applies {@code fault} after each block it replays. */
    static Map<Integer, RmgrRedo> withFault(RmgrId rmgr, Fault fault) {
        Map<Integer, RmgrRedo> m = new LinkedHashMap<>(RedoOracle.defaultRoutines());
        RmgrRedo good = m.get(rmgr.id());
        m.put(rmgr.id(), new RmgrRedo() {
            @Override
            public boolean handles(DecodedRecord r) {
                return good.handles(r);
            }

            @Override
            public void redo(DecodedRecord r, BlockReference b, byte[] page) {
                good.redo(r, b, page);
                fault.corrupt(r, b, page);
            }

            @Override
            public void mask(byte[] page, long blockNumber) {
                good.mask(page, blockNumber);
            }
        });
        return m;
    }

    /** The end of the work so far, read on a connection to {@code postgres}. */
    static Lsn endOfWork(PostgresServer pg) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
            return WalOracle.endOfWork(s);
        }
    }

    /** Counts one occurrence of a variant (a path through a routine) that a workload reached. */
    static void countVariant(Map<String, LongAdder> variants, String name) {
        variants.computeIfAbsent(name, k -> new LongAdder()).increment();
    }
}
