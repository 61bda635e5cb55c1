package dev.strata.pageserver.initdb;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.NumberSet;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a timeline's first state from a cleanly shut-down PostgreSQL 17 data directory
 * (the output of {@code initdb}): every file becomes keys at the end LSN of its last record,
 * the shutdown checkpoint that {@code pg_control} points at.
 *
 * <p>Enters: a data directory on local disk. Leaves: puts into a {@link LayerStore} at
 * {@link Inspected#endLsn()}, then {@code position().walIngested(endLsn)}; WAL ingest continues
 * from there with {@code xl_prev} = {@link Inspected#checkpointLsn()}.
 *
 * <table>
 * <caption>What becomes which key</caption>
 * <tr><td>{@code global/<rel>[_fsm|_vm|_init][.<seg>]}</td><td>blocks, sizes, relation directory of (1664, 0)</td></tr>
 * <tr><td>{@code base/<db>/<rel>...}</td><td>blocks, sizes, relation directory of (1663, db)</td></tr>
 * <tr><td>(1664, 0) and every (1663, db)</td><td>database directory</td></tr>
 * <tr><td>{@code global/pg_filenode.map}, {@code base/<db>/pg_filenode.map}</td><td>relmapper file (1664, 0) / (1663, db)</td></tr>
 * <tr><td>{@code pg_xact}, {@code pg_multixact/offsets}, {@code pg_multixact/members}</td><td>SLRU pages, segment sizes, SLRU directories</td></tr>
 * <tr><td>{@code pg_twophase/<16 hex>}</td><td>two-phase files and directory</td></tr>
 * <tr><td>{@code global/pg_control}</td><td>control file (whole) and checkpoint ({@code checkPointCopy})</td></tr>
 * </table>
 *
 * Not imported, on purpose: configuration files (the compute writes its own), {@code pg_wal}
 * (read only to find the end LSN), {@code pg_internal.init} (a cache Postgres rebuilds),
 * {@code base/pgsql_tmp} (temporary files),
 * statistics and the other runtime directories a basebackup recreates empty. Refused:
 * tablespaces, a running or crashed server, recovery/backup markers, replication slots,
 * commit timestamps, and any file this class does not know.
 */
public final class InitdbImport {

    private static final Logger LOG = LoggerFactory.getLogger(InitdbImport.class);

    /** {@code GLOBALTABLESPACE_OID}: shared catalogs under {@code global/}, database OID 0. */
    public static final int GLOBAL_TABLESPACE = 1664;
    /** {@code DEFAULTTABLESPACE_OID}: every database under {@code base/}. */
    public static final int DEFAULT_TABLESPACE = 1663;
    public static final int BLOCK_SIZE = 8192;
    /** {@code RELMAPPER_FILESIZE}: sizeof(RelMapFile): magic, count, 64 mappings of 8 bytes, CRC-32C. */
    public static final int RELMAPPER_FILE_SIZE = 524;
    /** {@code RELSEG_SIZE}: blocks per relation segment file (1 GB). */
    public static final int RELSEG_BLOCKS = 131072;
    /** {@code SLRU_PAGES_PER_SEGMENT}. */
    public static final int SLRU_PAGES_PER_SEGMENT = 32;
    /** {@code XLOG_CHECKPOINT_SHUTDOWN} on rmgr 0 (XLOG). */
    private static final int XLOG_CHECKPOINT_SHUTDOWN = 0x00;

    private static final Pattern RELATION_FILE = Pattern.compile("([1-9][0-9]{0,9})(?:_(fsm|vm|init))?(?:\\.([1-9][0-9]{0,5}))?");
    private static final Pattern SLRU_FILE = Pattern.compile("[0-9A-F]{4,15}");
    private static final Pattern TWO_PHASE_FILE = Pattern.compile("[0-9A-F]{16}");
    private static final Set<String> CONFIG_FILES = Set.of("postgresql.conf", "postgresql.auto.conf", "pg_hba.conf",
            "pg_ident.conf", "postmaster.opts", "current_logfiles");
    /** Runtime directories a basebackup recreates empty; their contents do not survive a restart anyway. */
    private static final Set<String> RECREATED_DIRECTORIES = Set.of("pg_dynshmem", "pg_logical", "pg_notify",
            "pg_serial", "pg_snapshots", "pg_stat", "pg_stat_tmp", "pg_subtrans");
    private static final Set<String> REFUSED_FILES = Set.of("postmaster.pid", "backup_label", "tablespace_map",
            "standby.signal", "recovery.signal");

    /**
     * What the import needs to know before the timeline's store exists.
     *
     * @param checkpointLsn start of the shutdown checkpoint record ({@code pg_control.checkPoint}):
     *                      the prev record LSN at {@code endLsn}
     * @param endLsn        end of that record: the LSN every imported value is put at, and where
     *                      ingest of the cluster's later WAL starts
     */
    public record Inspected(long systemId, int walSegmentSize, boolean dataChecksums,
                            Lsn checkpointLsn, Lsn endLsn) {
    }

    private InitdbImport() {
    }

    /**
     * Reads {@code global/pg_control} and the WAL record it points at, which must be a shutdown
     * checkpoint and the last record in {@code pg_wal} (a cleanly shut-down cluster).
     */
    public static Inspected inspect(Path pgdata) {
        refuseUnusable(pgdata);
        ControlFile control = ControlFile.decode(read(pgdata.resolve("global/pg_control")));
        if (control.state() != ControlFile.DB_SHUTDOWNED) {
            throw new IllegalArgumentException(pgdata + ": pg_control state is " + control.state()
                    + ", not shut down (" + ControlFile.DB_SHUTDOWNED + "); import only a cleanly stopped cluster");
        }
        if (control.blockSize() != BLOCK_SIZE || control.relSegSize() != RELSEG_BLOCKS) {
            throw new IllegalArgumentException(pgdata + ": block size " + control.blockSize() + " / segment "
                    + control.relSegSize() + " blocks; only " + BLOCK_SIZE + " / " + RELSEG_BLOCKS + " are supported");
        }
        Lsn checkpointLsn = control.checkPoint();
        int timeline = control.checkPointCopy().thisTimeLineId();
        try (WalReader reader = new WalReader(pgdata.resolve("pg_wal"), timeline, checkpointLsn, null)) {
            DecodedRecord record = reader.next();
            if (record == null) {
                throw new IllegalArgumentException(pgdata + ": no WAL record at checkpoint location " + checkpointLsn);
            }
            if (record.rmid() != 0 || (record.info() & 0xF0) != XLOG_CHECKPOINT_SHUTDOWN) {
                throw new IllegalArgumentException(pgdata + ": record at " + checkpointLsn + " is "
                        + record.recordTypeName() + ", not a shutdown checkpoint");
            }
            DecodedRecord after = reader.next();
            if (after != null) {
                throw new IllegalArgumentException(pgdata + ": WAL continues after the shutdown checkpoint ("
                        + after.recordTypeName() + " at " + after.startLsn() + "); not a cleanly stopped cluster");
            }
            Inspected inspected = new Inspected(control.systemIdentifier(), control.walSegmentSize(),
                    control.dataChecksums(), checkpointLsn, record.endLsn());
            LOG.info("inspected initdb directory={} system_id={} checkpoint_lsn={} end_lsn={} data_checksums={}",
                    pgdata, Long.toUnsignedString(inspected.systemId()), checkpointLsn, record.endLsn(),
                    inspected.dataChecksums());
            return inspected;
        }
    }

    /**
     * Puts every file of {@code pgdata} into {@code store} at {@code what.endLsn()} (see the class
     * comment), then advances the store's last record LSN there. The store must be empty and
     * created with a start LSN below {@code endLsn}. Everything goes into one in-memory layer
     * (one LSN cannot straddle layers): call {@code freezeAndFlush()} afterwards to make it durable.
     */
    public static void importInto(Path pgdata, Inspected what, LayerStore store) {
        refuseUnusable(pgdata);
        Inspected again = inspect(pgdata);
        if (!again.equals(what)) {
            throw new IllegalArgumentException(pgdata + " changed since it was inspected: " + what + " vs " + again);
        }
        byte[] controlBytes = read(pgdata.resolve("global/pg_control"));
        ControlFile control = ControlFile.decode(controlBytes);
        Puts puts = new Puts(store, what.endLsn());
        checkTopLevel(pgdata);

        DbDirectory dbs = DbDirectory.EMPTY.with(GLOBAL_TABLESPACE, 0);
        importRelationDirectory(pgdata.resolve("global"), GLOBAL_TABLESPACE, 0, true, puts);
        for (Path dbDir : list(pgdata.resolve("base"))) {
            String name = dbDir.getFileName().toString();
            if (name.equals("pgsql_tmp")) {
                continue; // temporary files (sorts, hashes): PostgreSQL empties it at every start
            }
            if (!name.matches("[1-9][0-9]{0,9}") || !Files.isDirectory(dbDir)) {
                throw new IllegalArgumentException("unexpected entry " + dbDir + " in base/ (database directories only)");
            }
            int dbOid = Integer.parseUnsignedInt(name);
            importRelationDirectory(dbDir, DEFAULT_TABLESPACE, dbOid, false, puts);
            dbs = dbs.with(DEFAULT_TABLESPACE, dbOid);
        }
        puts.put(Key.databaseDirectory(), dbs.encode());

        for (SlruKind kind : SlruKind.values()) {
            importSlru(pgdata.resolve(kind.directory()), kind, puts);
        }
        importTwoPhase(pgdata.resolve("pg_twophase"), control.checkPointCopy().nextFullXid(), puts);

        puts.put(Key.checkpoint(), control.checkPointCopy().encode());
        puts.put(Key.controlFile(), controlBytes);
        store.position().walIngested(what.endLsn());
        LOG.info("imported initdb directory={} end_lsn={} databases={} relation_forks={} blocks={} bytes={}",
                pgdata, what.endLsn(), dbs.entries().size(), puts.forks, puts.blocks, puts.bytes);
    }

    /** Counts what was put, for the log line and tests. */
    private static final class Puts {
        final LayerStore store;
        final Lsn lsn;
        long blocks;
        long forks;
        long bytes;

        Puts(LayerStore store, Lsn lsn) {
            this.store = store;
            this.lsn = lsn;
        }

        void put(Key key, byte[] value) {
            store.put(key, lsn, new Value.Image(value));
            bytes += value.length;
        }
    }

    private record RelFile(int relNumber, int fork, int segment, Path path) {
    }

    private static void importRelationDirectory(Path dir, int spcOid, int dbOid, boolean global, Puts puts) {
        TreeMap<Long, List<RelFile>> forks = new TreeMap<>(); // (relNumber << 2 | fork) -> segment files
        boolean sawMap = false;
        for (Path f : list(dir)) {
            String name = f.getFileName().toString();
            if (name.equals("pg_filenode.map")) {
                byte[] map = read(f);
                if (map.length != RELMAPPER_FILE_SIZE) {
                    throw new IllegalArgumentException(f + " is " + map.length + " bytes, a PostgreSQL 17 relmapper file is " + RELMAPPER_FILE_SIZE);
                }
                puts.put(Key.relmapperFile(spcOid, dbOid), map);
                sawMap = true;
                continue;
            }
            if (name.equals("pg_internal.init") || name.equals("PG_VERSION")
                    || (global && name.equals("pg_control"))) {
                continue; // a cache Postgres rebuilds; PG_VERSION and pg_control are written by the basebackup
            }
            Matcher m = RELATION_FILE.matcher(name);
            if (!m.matches() || !Files.isRegularFile(f)) {
                throw new IllegalArgumentException("unexpected file " + f + " (not a relation file)");
            }
            int relNumber = Integer.parseUnsignedInt(m.group(1));
            int fork = m.group(2) == null ? 0 : switch (m.group(2)) {
                case "fsm" -> 1;
                case "vm" -> 2;
                default -> 3;
            };
            int segment = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
            forks.computeIfAbsent(((long) Integer.toUnsignedLong(relNumber) << 2) | fork, k -> new ArrayList<>())
                    .add(new RelFile(relNumber, fork, segment, f));
        }
        if (!sawMap) {
            throw new IllegalArgumentException(dir + " has no pg_filenode.map");
        }
        RelDirectory rels = RelDirectory.EMPTY;
        for (List<RelFile> segments : forks.values()) {
            segments.sort((a, b) -> Integer.compare(a.segment, b.segment));
            RelFile first = segments.getFirst();
            long blocks = 0;
            for (int i = 0; i < segments.size(); i++) {
                RelFile seg = segments.get(i);
                if (seg.segment != i) {
                    throw new IllegalArgumentException("relation segment " + i + " of " + first.path + " is missing");
                }
                long segBlocks = importSegment(seg, spcOid, dbOid, puts);
                if (i < segments.size() - 1 && segBlocks != RELSEG_BLOCKS) {
                    throw new IllegalArgumentException(seg.path + " has " + segBlocks + " blocks but is not the last"
                            + " segment (a full segment has " + RELSEG_BLOCKS + ")");
                }
                blocks += segBlocks;
            }
            puts.put(Key.relationSize(spcOid, dbOid, first.relNumber, first.fork), BlockCount.encode(blocks));
            rels = rels.with(first.relNumber, first.fork);
            puts.forks++;
        }
        puts.put(Key.relationDirectory(spcOid, dbOid), rels.encode());
    }

    /** Puts every block of one segment file; returns its block count. */
    private static long importSegment(RelFile seg, int spcOid, int dbOid, Puts puts) {
        try (FileChannel ch = FileChannel.open(seg.path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size % BLOCK_SIZE != 0) {
                throw new IllegalArgumentException(seg.path + " is " + size + " bytes, not a multiple of " + BLOCK_SIZE);
            }
            long blocks = size / BLOCK_SIZE;
            long base = (long) seg.segment * RELSEG_BLOCKS;
            for (long b = 0; b < blocks; b++) {
                byte[] page = new byte[BLOCK_SIZE];
                readFully(ch, page, b * BLOCK_SIZE, seg.path);
                puts.put(Key.relationBlock(spcOid, dbOid, seg.relNumber, seg.fork, (int) (base + b)), page);
                puts.blocks++;
            }
            return blocks;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + seg.path, e);
        }
    }

    private static void importSlru(Path dir, SlruKind kind, Puts puts) {
        NumberSet segments = NumberSet.EMPTY;
        for (Path f : list(dir)) {
            String name = f.getFileName().toString();
            if (!SLRU_FILE.matcher(name).matches() || !Files.isRegularFile(f)) {
                throw new IllegalArgumentException("unexpected file " + f + " in " + kind.directory());
            }
            long segNo = Long.parseLong(name, 16);
            if (segNo > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException(f + ": SLRU segment number " + name + " is beyond 32 bits");
            }
            byte[] bytes = read(f);
            if (bytes.length % BLOCK_SIZE != 0 || bytes.length / BLOCK_SIZE > SLRU_PAGES_PER_SEGMENT) {
                throw new IllegalArgumentException(f + " is " + bytes.length + " bytes; an SLRU segment is at most "
                        + SLRU_PAGES_PER_SEGMENT + " pages of " + BLOCK_SIZE);
            }
            int pages = bytes.length / BLOCK_SIZE;
            for (int p = 0; p < pages; p++) {
                byte[] page = new byte[BLOCK_SIZE];
                System.arraycopy(bytes, p * BLOCK_SIZE, page, 0, BLOCK_SIZE);
                puts.put(Key.slruPage(kind, (int) segNo, p), page);
            }
            puts.put(Key.slruSegmentSize(kind, (int) segNo), BlockCount.encode(pages));
            segments = segments.with((int) segNo);
        }
        puts.put(Key.slruDirectory(kind), segments.encode());
    }

    private static void importTwoPhase(Path dir, long nextFullXid, Puts puts) {
        NumberSet xids = NumberSet.EMPTY;
        for (Path f : list(dir)) {
            String name = f.getFileName().toString();
            if (!TWO_PHASE_FILE.matcher(name).matches() || !Files.isRegularFile(f)) {
                throw new IllegalArgumentException("unexpected file " + f + " in pg_twophase");
            }
            long fullXid = Long.parseUnsignedLong(name, 16);
            if (fullXid >= nextFullXid) {
                throw new IllegalArgumentException(f + ": prepared transaction " + name
                        + " is not below the checkpoint's next XID " + Long.toHexString(nextFullXid));
            }
            int xid = (int) fullXid;
            puts.put(Key.twoPhaseFile(xid), read(f));
            xids = xids.with(xid);
        }
        puts.put(Key.twoPhaseDirectory(), xids.encode());
    }

    /** Everything at the top level must be known: imported, recreated, ignored configuration, or refused. */
    private static void checkTopLevel(Path pgdata) {
        for (Path f : list(pgdata)) {
            String name = f.getFileName().toString();
            boolean known = switch (name) {
                case "PG_VERSION", "global", "base", "pg_xact", "pg_multixact", "pg_twophase", "pg_wal" -> true;
                case "pg_tblspc", "pg_replslot", "pg_commit_ts" -> {
                    if (!list(f).isEmpty()) {
                        throw new IllegalArgumentException(f + " is not empty: " + switch (name) {
                            case "pg_tblspc" -> "tablespaces are not supported";
                            case "pg_replslot" -> "replication slots do not survive an import";
                            default -> "commit timestamps are not supported";
                        });
                    }
                    yield true;
                }
                default -> CONFIG_FILES.contains(name) || RECREATED_DIRECTORIES.contains(name)
                        || (name.endsWith(".conf") && Files.isRegularFile(f));
            };
            if (!known) {
                throw new IllegalArgumentException("unexpected entry " + f + " in the data directory");
            }
        }
        List<Path> multixact = list(pgdata.resolve("pg_multixact"));
        for (Path f : multixact) {
            String name = f.getFileName().toString();
            if (!name.equals("offsets") && !name.equals("members")) {
                throw new IllegalArgumentException("unexpected entry " + f + " in pg_multixact");
            }
        }
    }

    private static void refuseUnusable(Path pgdata) {
        if (!Files.isDirectory(pgdata)) {
            throw new IllegalArgumentException("data directory " + pgdata + " does not exist");
        }
        String version = Files.exists(pgdata.resolve("PG_VERSION")) ? new String(read(pgdata.resolve("PG_VERSION"))).trim() : null;
        if (!"17".equals(version)) {
            throw new IllegalArgumentException(pgdata + ": PG_VERSION is " + version + ", only PostgreSQL 17 is supported");
        }
        for (String name : REFUSED_FILES) {
            if (Files.exists(pgdata.resolve(name))) {
                throw new IllegalArgumentException(pgdata + " has " + name + ": "
                        + (name.equals("postmaster.pid") ? "the server is running or crashed; stop it cleanly first"
                        : "a backup or recovery in progress cannot be imported"));
            }
        }
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("directory " + dir + " is missing");
        }
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
        out.sort(null);
        return out;
    }

    private static byte[] read(Path f) {
        try {
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + f, e);
        }
    }

    private static void readFully(FileChannel ch, byte[] into, long position, Path path) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(into);
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) {
                throw new IOException(path + " ended early at " + (position + buf.position()));
            }
        }
    }
}
