package dev.strata.pageserver.ingest;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.wal.DecodedRecord;

import java.nio.ByteBuffer;

/**
 * RelMap UPDATE ({@code utils/relmapper.h}): the record holds the whole new
 * {@code pg_filenode.map} (512 bytes) of a database, or of the shared catalogs (dbid 0,
 * tablespace pg_global); it becomes the relmapper key's image, and the database is in the
 * database directory from then on.
 */
final class RelMapIngest implements RmgrIngest {

    static final int UPDATE = 0x00;
    static final int RELMAP_FILE_SIZE = 512;

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        ctx.putImagesOrStop(r);
        if ((r.info() & 0xF0) != UPDATE) {
            throw new IngestException(r, "unknown relmap record type");
        }
        ByteBuffer m = r.mainDataBuffer();
        if (m.remaining() < 12) {
            throw new IngestException(r, "main data of " + m.remaining() + " bytes, xl_relmap_update needs 12");
        }
        int dbId = m.getInt(0);
        int tsId = m.getInt(4);
        int nbytes = m.getInt(8);
        if (nbytes != RELMAP_FILE_SIZE || m.remaining() != 12 + nbytes) {
            throw new IngestException(r, "relmap data of " + nbytes + " bytes in " + m.remaining()
                    + " bytes of main data; the file is " + RELMAP_FILE_SIZE);
        }
        byte[] file = new byte[nbytes];
        m.get(12, file);
        ctx.put(Key.relmapperFile(tsId, dbId), new Value.Image(file));
        ctx.addDatabase(tsId, dbId);
    }
}
