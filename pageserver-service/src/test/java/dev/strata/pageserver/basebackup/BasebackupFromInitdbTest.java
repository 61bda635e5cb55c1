package dev.strata.pageserver.basebackup;

import static dev.strata.pageserver.basebackup.BasebackupFixtures.addComputeConfig;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.basebackup;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.compute;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.execute;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.importInitdb;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.initdb;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.log;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.queryOne;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.untar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageException;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalDecoder;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * initdb → import → basebackup at the import LSN → stock PostgreSQL 17 starts on it without
 * recovery, works, restarts; and the placements of the checkpoint record on page and segment
 * boundaries, replication from E, and refused LSNs.
 */
class BasebackupFromInitdbTest {

    @TempDir
    Path tmp;

    @Test
    void computeStartsWithoutRecoveryFromInitdbImport() throws Exception {
        startsFromImport(false);
    }

    @Test
    void computeStartsWithoutRecoveryFromInitdbImportWithDataChecksums() throws Exception {
        startsFromImport(true);
    }

    private void startsFromImport(boolean checksums) throws Exception {
        Path src = initdb(tmp.resolve("initdb"), checksums);
        InitdbImport.Inspected inspected = InitdbImport.inspect(src);
        assertThat(inspected.dataChecksums()).isEqualTo(checksums);
        assertThat(inspected.endLsn()).isEqualTo(inspected.checkpointLsn().plus(120));
        Path tar = tmp.resolve("base.tar");
        try (LayerStore store = importInitdb(src, tmp.resolve("timeline"), inspected)) {
            assertThat(store.lastRecordLsn()).isEqualTo(inspected.endLsn());
            store.freezeAndFlush(); // the basebackup reads from layer files, not only memory
            Basebackup.Result result = basebackup(store, inspected.endLsn(), inspected.checkpointLsn(), tar);
            assertThat(result.checkpointLsn()).isEqualTo(inspected.endLsn()); // mid-page: the record is at E
        }
        Path dst = tmp.resolve("compute");
        List<String> names = untar(tar, dst);
        assertThat(names).contains("PG_VERSION", "postgresql.auto.conf", "pg_ident.conf", "global/pg_filenode.map", "base/1/PG_VERSION",
                "base/5/pg_filenode.map", "pg_xact/0000", "pg_multixact/offsets/0000", "pg_multixact/members/0000",
                "pg_tblspc/", "pg_logical/snapshots/", "pg_wal/archive_status/");
        assertThat(names.subList(names.size() - 2, names.size()))
                .containsExactly("pg_wal/" + inspected.endLsn().walFileName(1, inspected.walSegmentSize()),
                        "global/pg_control");
        assertThat(names).noneMatch(n -> n.endsWith("pg_hba.conf") || n.endsWith("postgresql.conf"));
        // Every relation file of the source has the same bytes in the basebackup (no WAL after initdb).
        assertSameRelationFiles(src, dst, "global");
        assertSameRelationFiles(src, dst, "base/5");
        addComputeConfig(dst);

        try (PostgresServer pg = compute(dst).start()) {
            String log = log(pg);
            assertThat(log).contains("database system was shut down at")
                    .doesNotContain("not properly shut down").doesNotContain("redo starts at")
                    .doesNotContain("automatic recovery");
            assertThat(queryOne(pg, "postgres", "SELECT redo_lsn FROM pg_control_checkpoint()"))
                    .isEqualTo(inspected.endLsn().toString());
            assertThat(queryOne(pg, "postgres", "SELECT checkpoint_lsn FROM pg_control_checkpoint()"))
                    .isEqualTo(inspected.endLsn().toString());
            assertThat(queryOne(pg, "postgres", "SHOW data_checksums")).isEqualTo(checksums ? "on" : "off");
            execute(pg, "postgres", "CREATE TABLE t (id int PRIMARY KEY, v text)",
                    "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g",
                    "CREATE EXTENSION amcheck");
            assertThat(queryOne(pg, "postgres", "SELECT count(*) FROM t")).isEqualTo("1000");
            Lsn insert = Lsn.parse(queryOne(pg, "postgres", "SELECT pg_current_wal_insert_lsn()"));
            assertThat(insert).isGreaterThan(inspected.endLsn());
            assertThat(queryOne(pg, "postgres",
                    "SELECT count(*) FROM pg_class c, LATERAL verify_heapam(c.oid) WHERE c.relkind = 'r'"))
                    .isEqualTo("0");
            assertThat(queryOne(pg, "postgres", "SELECT bt_index_check('t_pkey'::regclass, true)")).isEqualTo("");
            pg.stop();
            pg.start();
            assertThat(queryOne(pg, "postgres", "SELECT sum(id) FROM t")).isEqualTo("500500");
            assertThat(queryOne(pg, "template1", "SELECT count(*) FROM pg_class")).isNotNull();
        }
    }

    private static void assertSameRelationFiles(Path src, Path dst, String dir) throws Exception {
        int compared = 0;
        try (var files = Files.list(src.resolve(dir))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (name.matches("[0-9]+(_fsm|_vm|_init)?")) {
                    assertThat(Files.readAllBytes(dst.resolve(dir).resolve(name))).as(dir + "/" + name)
                            .isEqualTo(Files.readAllBytes(f));
                    compared++;
                }
            }
        }
        assertThat(compared).isGreaterThan(10);
    }

    /**
     * E on a page boundary (record at E + 24) and on a segment boundary (E + 40): the import's
     * state at the next boundary is the same as at its end (no WAL in between), so the store may
     * claim it. PostgreSQL starts with checkPoint = redo = the record's location, and a
     * replication client asking for E receives our checkpoint record first, then the new WAL.
     */
    @Test
    void checkpointOnPageAndSegmentBoundariesStartsAndStreamsFromE() throws Exception {
        Path src = initdb(tmp.resolve("initdb"), false);
        InitdbImport.Inspected inspected = InitdbImport.inspect(src);
        int seg = inspected.walSegmentSize();
        Lsn pageBoundary = Lsn.of(inspected.endLsn().pageStart(8192).value() + 8192);
        Lsn segmentBoundary = inspected.endLsn().segmentStart(seg).plus(seg);
        try (LayerStore store = importInitdb(src, tmp.resolve("timeline"), inspected)) {
            for (Lsn e : List.of(pageBoundary, segmentBoundary)) {
                store.position().walIngested(e);
                Path tar = tmp.resolve("at-" + e.value() + ".tar");
                Basebackup.Result result = basebackup(store, e, inspected.checkpointLsn(), tar);
                Lsn expected = e.plus(e.equals(segmentBoundary) ? 40 : 24);
                assertThat(result.checkpointLsn()).isEqualTo(expected);
                Path dst = tmp.resolve("compute-" + e.value());
                untar(tar, dst);
                addComputeConfig(dst);
                try (PostgresServer pg = compute(dst).start()) {
                    assertThat(log(pg)).doesNotContain("redo starts at").doesNotContain("not properly shut down");
                    assertThat(queryOne(pg, "postgres", "SELECT checkpoint_lsn || ' ' || redo_lsn"
                            + " FROM pg_control_checkpoint()")).isEqualTo(expected + " " + expected);
                    execute(pg, "postgres", "CREATE TABLE s (x int)", "INSERT INTO s VALUES (42)");
                    Lsn flush = Lsn.parse(queryOne(pg, "postgres", "SELECT pg_current_wal_flush_lsn()"));
                    List<DecodedRecord> records = streamFrom(pg, e, inspected.checkpointLsn(), flush);
                    assertThat(records.getFirst().startLsn()).isEqualTo(expected);
                    assertThat(records.getFirst().prevLsn()).isEqualTo(inspected.checkpointLsn());
                    assertThat(records.getFirst().recordTypeName()).containsIgnoringCase("CHECKPOINT_SHUTDOWN");
                    assertThat(records.get(1).prevLsn()).isEqualTo(expected);
                    assertThat(records.size()).isGreaterThan(5);
                    assertThat(records.getLast().endLsn()).isLessThanOrEqualTo(flush);
                }
            }
        }
    }

    /** Streams physical replication from {@code start} and decodes every complete record up to {@code until}. */
    private static List<DecodedRecord> streamFrom(PostgresServer pg, Lsn start, Lsn prev, Lsn until) throws Exception {
        Properties props = new Properties();
        PGProperty.USER.set(props, pg.user());
        PGProperty.PASSWORD.set(props, pg.password());
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.REPLICATION.set(props, "true");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "9.4");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        String url = "jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/postgres";
        WalDecoder decoder = WalDecoder.atRecord(start, prev, 8192, 16 * 1024 * 1024);
        List<DecodedRecord> records = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url, props)) {
            PGReplicationStream stream = c.unwrap(PGConnection.class).getReplicationAPI().replicationStream()
                    .physical().withStartPosition(LogSequenceNumber.valueOf(start.value())).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                ByteBuffer msg = stream.readPending();
                if (msg == null) {
                    if (!records.isEmpty() && !records.getLast().endLsn().isBefore(until)) {
                        break;
                    }
                    Thread.sleep(10);
                    continue;
                }
                byte[] bytes = new byte[msg.remaining()];
                msg.get(bytes);
                decoder.feed(bytes);
                DecodedRecord r;
                while ((r = decoder.poll()) != null) {
                    records.add(r);
                }
            }
            stream.close();
        }
        assertThat(records).as("records streamed from " + start).isNotEmpty();
        assertThat(records.getLast().endLsn()).isGreaterThanOrEqualTo(until);
        return records;
    }

    @Test
    void refusesLsnsOutsideTheTimeline() throws Exception {
        Path src = initdb(tmp.resolve("initdb"), false);
        InitdbImport.Inspected inspected = InitdbImport.inspect(src);
        try (LayerStore store = importInitdb(src, tmp.resolve("timeline"), inspected)) {
            Lsn end = inspected.endLsn();
            assertThatThrownBy(() -> Basebackup.write(store, new PageserverRedo(), end.plus(8), end, OutputStream.nullOutputStream()))
                    .isInstanceOf(StorageException.class).hasMessageContaining(end.plus(8).toString())
                    .hasMessageContaining("beyond last record LSN " + end);
            Lsn below = inspected.checkpointLsn();
            assertThatThrownBy(() -> Basebackup.write(store, new PageserverRedo(), below, Lsn.of(below.value() - 64),
                    OutputStream.nullOutputStream()))
                    .isInstanceOf(StorageException.class).hasMessageContaining(below.toString())
                    .hasMessageContaining("initdb import");
            assertThatThrownBy(() -> Basebackup.write(store, new PageserverRedo(), end, end, OutputStream.nullOutputStream()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("previous record LSN");
            assertThatThrownBy(() -> Basebackup.write(store, new PageserverRedo(), end.plus(3), end, OutputStream.nullOutputStream()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aligned");
            // The store holds what import promised.
            ControlFile control = ControlFile.decode(store.getValue(Key.controlFile(), end, new PageserverRedo()));
            assertThat(control.checkPoint()).isEqualTo(inspected.checkpointLsn());
        }
    }
}
