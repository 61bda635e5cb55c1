package dev.strata.pageserver.ingest;

import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pgcore.wal.DecodedRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Tablespace records ({@code commands/tablespace.h}).
 * <ul>
 * <li>CREATE ({@code xl_tblspc_create_rec}: u32 ts_id, NUL-terminated path): the tablespace
 * joins the tablespace directory; the basebackup writes it as {@code pg_tblspc/<oid>/PG_17_<catversion>/}.
 * Every compute made from the pageserver has it <em>in place</em> (a directory under
 * {@code pg_tblspc}, as {@code allow_in_place_tablespaces} makes with {@code LOCATION ''}):
 * a compute's disk is a cache, so a location outside the data directory (a non-empty path)
 * is not reproduced; its pages are stored like every other (WAL names them by tablespace
 * OID), only {@code pg_tablespace_location()} differs on the next compute.</li>
 * <li>DROP ({@code xl_tblspc_drop_rec}: u32 ts_id): PostgreSQL logs it only once every
 * database directory in the tablespace is empty; like {@code destroy_tablespace_directories}
 * in redo, the tablespace and every (tablespace, database) entry leave their directories.</li>
 * </ul>
 */
final class TablespaceIngest implements RmgrIngest {

    private static final Logger LOG = LoggerFactory.getLogger(TablespaceIngest.class);

    static final int CREATE = 0x00;
    static final int DROP = 0x10;
    static final int DEFAULT_TABLESPACE = 1663;
    static final int GLOBAL_TABLESPACE = 1664;

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        ctx.putImagesOrStop(r);
        ByteBuffer m = r.mainDataBuffer();
        switch (r.info() & 0xF0) {
            case CREATE -> {
                if (m.remaining() < 5 || m.get(m.remaining() - 1) != 0) {
                    throw new IngestException(r, "main data of " + m.remaining()
                            + " bytes is not xl_tblspc_create_rec (u32 oid, NUL-terminated path)");
                }
                int spc = checkOid(r, m.getInt(0));
                byte[] path = new byte[m.remaining() - 5];
                m.get(4, path);
                if (path.length > 0) {
                    LOG.warn("tablespace {} created at {} with location '{}': computes made from the pageserver"
                                    + " keep it in place (pg_tblspc/{}), not at that location", Integer.toUnsignedString(spc),
                            r.endLsn(), new String(path, StandardCharsets.UTF_8), Integer.toUnsignedString(spc));
                }
                ctx.addTablespace(spc);
            }
            case DROP -> {
                if (m.remaining() != 4) {
                    throw new IngestException(r, "main data of " + m.remaining() + " bytes, xl_tblspc_drop_rec is 4");
                }
                int spc = checkOid(r, m.getInt(0));
                List<DbDirectory.Db> inIt = new ArrayList<>();
                for (DbDirectory.Db db : ctx.dbDirectory().entries()) {
                    if (db.spcOid() == spc) {
                        inIt.add(db);
                    }
                }
                for (DbDirectory.Db db : inIt) {
                    ctx.dropAllRelations(spc, db.dbOid());
                    ctx.removeDatabase(spc, db.dbOid());
                }
                ctx.removeTablespace(spc);
            }
            default -> throw new IngestException(r, "unknown tablespace record type");
        }
    }

    private static int checkOid(DecodedRecord r, int spc) {
        if (spc == DEFAULT_TABLESPACE || spc == GLOBAL_TABLESPACE || spc == 0) {
            throw new IngestException(r, "tablespace record for built-in or invalid tablespace "
                    + Integer.toUnsignedString(spc));
        }
        return spc;
    }

    /**
     * Whether a database record may name this tablespace: pg_default, or one created in WAL
     * we ingested. On a {@link TimelineBase#WAL_ONLY} timeline a tablespace may predate the
     * start, so any but pg_global is accepted there.
     */
    static boolean known(IngestContext ctx, int spc) {
        if (spc == DEFAULT_TABLESPACE) {
            return true;
        }
        if (spc == GLOBAL_TABLESPACE || spc == 0) {
            return false;
        }
        return ctx.tablespaceDirectory().contains(spc) || ctx.base() == TimelineBase.WAL_ONLY;
    }
}
