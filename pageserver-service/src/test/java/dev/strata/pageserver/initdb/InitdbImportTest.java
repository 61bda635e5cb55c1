package dev.strata.pageserver.initdb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.NumberSet;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the import puts for a real PG17 initdb directory, and what it refuses. */
class InitdbImportTest {

    @TempDir
    static Path shared;
    static Path initdb;

    @TempDir
    Path tmp;

    @BeforeAll
    static void createCluster() {
        initdb = shared.resolve("initdb");
        try (PostgresServer pg = PostgresServer.builder().dataDir(initdb).start()) {
            pg.stop();
        }
    }

    private LayerStore importHere(Path pgdata, InitdbImport.Inspected what) {
        LayerStore store = LayerStore.create(tmp.resolve("tl-" + System.nanoTime()), TimelineId.random(),
                what.checkpointLsn(), StorageConfig.DEFAULTS);
        InitdbImport.importInto(pgdata, what, store);
        return store;
    }

    @Test
    void everyFileBecomesKeysAtTheCheckpointEnd() throws IOException {
        InitdbImport.Inspected what = InitdbImport.inspect(initdb);
        ControlFile control = ControlFile.decode(Files.readAllBytes(initdb.resolve("global/pg_control")));
        assertThat(what.checkpointLsn()).isEqualTo(control.checkPoint());
        assertThat(what.systemId()).isEqualTo(control.systemIdentifier());
        PageserverRedo redo = new PageserverRedo();
        Lsn at = what.endLsn();
        try (LayerStore store = importHere(initdb, what)) {
            assertThat(store.lastRecordLsn()).isEqualTo(at);
            DbDirectory dbs = DbDirectory.decode(store.getValue(Key.databaseDirectory(), at, redo));
            assertThat(dbs.entries()).containsExactly(new DbDirectory.Db(1663, 1), new DbDirectory.Db(1663, 4),
                    new DbDirectory.Db(1663, 5), new DbDirectory.Db(1664, 0));
            // Sizes and bytes of every relation file of database 5 and global.
            for (var dir : new Object[][] {{"base/5", 1663, 5}, {"global", 1664, 0}}) {
                RelDirectory rels = RelDirectory.decode(store.getValue(
                        Key.relationDirectory((int) dir[1], (int) dir[2]), at, redo));
                long files;
                try (Stream<Path> s = Files.list(initdb.resolve((String) dir[0]))) {
                    files = s.filter(p -> p.getFileName().toString().matches("[0-9]+(_fsm|_vm|_init)?")).count();
                }
                assertThat(rels.entries()).hasSize((int) files);
                for (RelDirectory.RelFork rf : rels.entries()) {
                    String suffix = new String[] {"", "_fsm", "_vm", "_init"}[rf.fork()];
                    byte[] file = Files.readAllBytes(initdb.resolve(dir[0] + "/" + rf.relNumber() + suffix));
                    long size = BlockCount.decode(store.getValue(
                            Key.relationSize((int) dir[1], (int) dir[2], rf.relNumber(), rf.fork()), at, redo));
                    assertThat(size * 8192).isEqualTo(file.length);
                    if (size > 0) {
                        byte[] last = store.getValue(Key.relationBlock((int) dir[1], (int) dir[2], rf.relNumber(),
                                rf.fork(), (int) size - 1), at, redo);
                        assertThat(last).isEqualTo(Arrays.copyOfRange(file, file.length - 8192, file.length));
                    }
                }
            }
            assertThat(store.getValue(Key.relmapperFile(1664, 0), at, redo))
                    .isEqualTo(Files.readAllBytes(initdb.resolve("global/pg_filenode.map")));
            assertThat(store.getValue(Key.relmapperFile(1663, 5), at, redo))
                    .isEqualTo(Files.readAllBytes(initdb.resolve("base/5/pg_filenode.map")));
            assertThat(NumberSet.decode(store.getValue(Key.slruDirectory(SlruKind.CLOG), at, redo)))
                    .isEqualTo(NumberSet.of(0));
            assertThat(store.getValue(Key.slruPage(SlruKind.CLOG, 0, 0), at, redo))
                    .isEqualTo(Arrays.copyOf(Files.readAllBytes(initdb.resolve("pg_xact/0000")), 8192));
            assertThat(NumberSet.decode(store.getValue(Key.twoPhaseDirectory(), at, redo))).isEqualTo(NumberSet.EMPTY);
            assertThat(CheckPoint.decode(store.getValue(Key.checkpoint(), at, redo)))
                    .isEqualTo(control.checkPointCopy());
            assertThat(store.getValue(Key.controlFile(), at, redo))
                    .isEqualTo(Files.readAllBytes(initdb.resolve("global/pg_control")));
            // Nothing exists below the import LSN.
            assertThat(store.getValue(Key.controlFile(), what.checkpointLsn(), redo)).isNull();
        }
    }

    private Path copyOfInitdb() throws IOException {
        Path copy = tmp.resolve("copy");
        try (Stream<Path> all = Files.walk(initdb)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path target = copy.resolve(initdb.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return copy;
    }

    @Test
    void refusesTablespacesRunningServersAndUnknownFiles() throws IOException {
        Path copy = copyOfInitdb();
        InitdbImport.Inspected what = InitdbImport.inspect(copy);

        Files.createSymbolicLink(copy.resolve("pg_tblspc/16400"), tmp);
        assertThatThrownBy(() -> importHere(copy, what)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pg_tblspc").hasMessageContaining("tablespaces are not supported");
        Files.delete(copy.resolve("pg_tblspc/16400"));

        Files.writeString(copy.resolve("base/5/notes.txt"), "hello");
        assertThatThrownBy(() -> importHere(copy, what)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("notes.txt");
        Files.delete(copy.resolve("base/5/notes.txt"));

        Files.write(copy.resolve("base/5/99999"), new byte[100]);
        assertThatThrownBy(() -> importHere(copy, what)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("99999").hasMessageContaining("not a multiple of 8192");
        Files.delete(copy.resolve("base/5/99999"));

        Files.writeString(copy.resolve("postmaster.pid"), "12345\n");
        assertThatThrownBy(() -> InitdbImport.inspect(copy)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("postmaster.pid");
        Files.delete(copy.resolve("postmaster.pid"));

        Files.createDirectory(copy.resolve("mystery"));
        assertThatThrownBy(() -> importHere(copy, what)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mystery");
        FileTrees.deleteRecursively(copy.resolve("mystery"));

        // A cluster that was not shut down cleanly (state in production).
        byte[] pgControl = Files.readAllBytes(copy.resolve("global/pg_control"));
        ControlFile running = ControlFile.decode(pgControl);
        ControlFile inProduction = new ControlFile(running.systemIdentifier(), running.pgControlVersion(),
                running.catalogVersionNo(), ControlFile.DB_IN_PRODUCTION, running.time(), running.checkPoint(),
                running.checkPointCopy(), running.unloggedLsn(), running.minRecoveryPoint(),
                running.minRecoveryPointTli(), running.backupStartPoint(), running.backupEndPoint(),
                running.backupEndRequired(), running.walLevel(), running.walLogHints(), running.maxConnections(),
                running.maxWorkerProcesses(), running.maxWalSenders(), running.maxPreparedXacts(),
                running.maxLocksPerXact(), running.trackCommitTimestamp(), running.maxAlign(), running.floatFormat(),
                running.blockSize(), running.relSegSize(), running.walBlockSize(), running.walSegmentSize(),
                running.nameDataLen(), running.indexMaxKeys(), running.toastMaxChunkSize(),
                running.largeObjectBlockSize(), running.float8ByVal(), running.dataChecksumVersion(),
                running.mockAuthenticationNonce());
        Files.write(copy.resolve("global/pg_control"), inProduction.encode());
        assertThatThrownBy(() -> InitdbImport.inspect(copy)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("state is 6");
        Files.write(copy.resolve("global/pg_control"), pgControl);

        // After all the repairs the copy imports.
        try (LayerStore store = importHere(copy, what)) {
            assertThat(store.lastRecordLsn()).isEqualTo(what.endLsn());
        }
    }
}
