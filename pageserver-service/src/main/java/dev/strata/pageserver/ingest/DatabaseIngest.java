package dev.strata.pageserver.ingest;

import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RelFileLocator;

import java.nio.ByteBuffer;

/**
 * Database records ({@code commands/dbcommands_xlog.h}).
 * <ul>
 * <li>CREATE_WAL_LOG: the database exists, with an empty relation directory; its relmapper
 * file comes in a RelMap UPDATE and every relation as smgr create plus page images
 * ({@code CreateDatabaseUsingWalLog}); PG_VERSION is the basebackup's to write.</li>
 * <li>CREATE_FILE_COPY: every relation of the template at this LSN is copied into the new
 * database ({@code copydir} on redo): relation directory, sizes, blocks (pages unchanged:
 * their LSN and checksum do not depend on the relation), relmapper file.</li>
 * <li>Any tablespace created in ingested WAL may hold a database: ALTER DATABASE SET TABLESPACE
 * is a FILE_COPY from the old tablespace to the new one, then a DROP in the old one.</li>
 * <li>DROP: the database leaves the database directory, its relation directory empties and
 * its size keys become 0, so its keys are unreachable.</li>
 * </ul>
 */
final class DatabaseIngest implements RmgrIngest {

    static final int CREATE_FILE_COPY = 0x00;
    static final int CREATE_WAL_LOG = 0x10;
    static final int DROP = 0x20;

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        ctx.putImagesOrStop(r);
        ByteBuffer m = r.mainDataBuffer();
        switch (r.info() & 0xF0) {
            case CREATE_WAL_LOG -> {
                SlruIngest.need(r, m, 8, 8);
                int db = m.getInt(0);
                int spc = checkSpc(r, ctx, m.getInt(4));
                createEmpty(ctx, spc, db);
            }
            case CREATE_FILE_COPY -> {
                SlruIngest.need(r, m, 16, 16);
                int db = m.getInt(0);
                int spc = checkSpc(r, ctx, m.getInt(4));
                int srcDb = m.getInt(8);
                int srcSpc = checkSpc(r, ctx, m.getInt(12));
                copy(r, ctx, srcSpc, srcDb, spc, db);
            }
            case DROP -> {
                if (m.remaining() < 8) {
                    throw new IngestException(r, "main data of " + m.remaining() + " bytes, xl_dbase_drop_rec needs 8");
                }
                int db = m.getInt(0);
                int n = m.getInt(4);
                if (n < 1 || m.remaining() != 8 + 4L * n) {
                    throw new IngestException(r, n + " tablespaces in " + m.remaining() + " bytes of main data");
                }
                for (int i = 0; i < n; i++) {
                    int spc = checkSpc(r, ctx, m.getInt(8 + 4 * i));
                    ctx.dropAllRelations(spc, db);
                    ctx.removeDatabase(spc, db);
                }
            }
            default -> throw new IngestException(r, "unknown database record type");
        }
    }

    /** pg_default or a tablespace created in the WAL we ingested (see {@link TablespaceIngest#known}). */
    private static int checkSpc(DecodedRecord r, IngestContext ctx, int spc) {
        if (!TablespaceIngest.known(ctx, spc)) {
            throw new IngestException(r, "tablespace " + Integer.toUnsignedString(spc)
                    + " does not exist (neither pg_default 1663 nor created by a tablespace record we ingested)");
        }
        return spc;
    }

    private static void createEmpty(IngestContext ctx, int spc, int db) {
        ctx.dropAllRelations(spc, db); // a reused OID must not see its previous incarnation
        ctx.addDatabase(spc, db);
    }

    private static void copy(DecodedRecord r, IngestContext ctx, int srcSpc, int srcDb, int spc, int db) {
        if (!ctx.dbDirectory().contains(srcSpc, srcDb) && ctx.base() == TimelineBase.IMPORTED) {
            throw new IngestException(r, "template database " + srcSpc + "/" + srcDb + " does not exist");
        }
        createEmpty(ctx, spc, db);
        RelDirectory src = ctx.relDirectory(srcSpc, srcDb);
        for (RelDirectory.RelFork f : src.entries()) {
            RelFileLocator from = new RelFileLocator(srcSpc, Integer.toUnsignedLong(srcDb), Integer.toUnsignedLong(f.relNumber()));
            RelFileLocator to = new RelFileLocator(spc, Integer.toUnsignedLong(db), Integer.toUnsignedLong(f.relNumber()));
            long blocks = ctx.relationSize(from, f.fork());
            ctx.setRelationSize(to, f.fork(), Math.max(blocks, 0));
            for (long blk = 0; blk < blocks; blk++) {
                byte[] page = ctx.latestPage(from, f.fork(), blk);
                // A block below the size never written reads as zeros; write them, since a reused
                // database OID may still hold older versions of the block.
                ctx.put(IngestContext.blockKey(to, f.fork(), blk),
                        new Value.Image(page != null ? page : new byte[PageHeader.PAGE_SIZE]));
            }
        }
        byte[] relmap = ctx.latest(Key.relmapperFile(srcSpc, srcDb));
        if (relmap != null) {
            ctx.put(Key.relmapperFile(spc, db), new Value.Image(relmap));
        }
    }
}
