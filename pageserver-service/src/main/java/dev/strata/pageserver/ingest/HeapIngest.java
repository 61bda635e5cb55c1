package dev.strata.pageserver.ingest;

import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RmgrId;

import java.nio.ByteBuffer;

/**
 * Heap and Heap2 records: their registered pages take the image path, plus the one change
 * these records make to a page they do not register: clearing visibility-map bits when
 * the heap page's all-visible (or all-frozen) flag was cleared ({@code heapam_xlog.h}
 * flags; redo calls {@code visibilitymap_clear}). The VM page is not stamped with the
 * record's LSN, as in PostgreSQL's redo.
 */
final class HeapIngest implements RmgrIngest {

    // heap info codes (info & XLOG_HEAP_OPMASK)
    private static final int HEAP_INSERT = 0x00;
    private static final int HEAP_DELETE = 0x10;
    private static final int HEAP_UPDATE = 0x20;
    private static final int HEAP_HOT_UPDATE = 0x40;
    private static final int HEAP_LOCK = 0x60;
    // heap2 info codes
    private static final int HEAP2_MULTI_INSERT = 0x50;
    private static final int HEAP2_LOCK_UPDATED = 0x60;
    private static final int OPMASK = 0x70;

    private static final int ALL_VISIBLE_CLEARED = 0x01;      // XLH_INSERT/DELETE_ALL_VISIBLE_CLEARED
    private static final int UPDATE_OLD_CLEARED = 0x01;       // XLH_UPDATE_OLD_ALL_VISIBLE_CLEARED
    private static final int UPDATE_NEW_CLEARED = 0x02;       // XLH_UPDATE_NEW_ALL_VISIBLE_CLEARED
    private static final int LOCK_ALL_FROZEN_CLEARED = 0x01;  // XLH_LOCK_ALL_FROZEN_CLEARED

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        ctx.putImagesOrStop(r);
        int op = r.info() & OPMASK;
        ByteBuffer main = r.mainDataBuffer();
        if (r.rmid() == RmgrId.HEAP.id()) {
            switch (op) {
                case HEAP_INSERT -> clearIf(r, ctx, flag(r, main, 2) & ALL_VISIBLE_CLEARED, 0, VisibilityMap.VALID_BITS);
                case HEAP_DELETE -> clearIf(r, ctx, flag(r, main, 7) & ALL_VISIBLE_CLEARED, 0, VisibilityMap.VALID_BITS);
                case HEAP_UPDATE, HEAP_HOT_UPDATE -> {
                    int flags = flag(r, main, 7);
                    // The old tuple's page is block 1, or block 0 when old and new share a page.
                    clearIf(r, ctx, flags & UPDATE_OLD_CLEARED, r.block(1) != null ? 1 : 0, VisibilityMap.VALID_BITS);
                    clearIf(r, ctx, flags & UPDATE_NEW_CLEARED, 0, VisibilityMap.VALID_BITS);
                }
                case HEAP_LOCK -> clearIf(r, ctx, flag(r, main, 7) & LOCK_ALL_FROZEN_CLEARED, 0, VisibilityMap.ALL_FROZEN);
                default -> {
                }
            }
        } else {
            switch (op) {
                case HEAP2_MULTI_INSERT -> clearIf(r, ctx, flag(r, main, 0) & ALL_VISIBLE_CLEARED, 0, VisibilityMap.VALID_BITS);
                case HEAP2_LOCK_UPDATED -> clearIf(r, ctx, flag(r, main, 7) & LOCK_ALL_FROZEN_CLEARED, 0,
                        VisibilityMap.ALL_FROZEN);
                default -> {
                }
            }
        }
    }

    private static int flag(DecodedRecord r, ByteBuffer main, int offset) {
        if (main.remaining() <= offset) {
            throw new IngestException(r, "main data of " + main.remaining() + " bytes has no flags byte at " + offset);
        }
        return main.get(offset) & 0xFF;
    }

    private static void clearIf(DecodedRecord r, IngestContext ctx, int flagSet, int blockId, int bits) {
        if (flagSet == 0) {
            return;
        }
        BlockReference b = r.block(blockId);
        if (b == null) {
            throw new IngestException(r, "visibility-map clear flag set but block " + blockId + " is not registered");
        }
        VisibilityMap.clear(r, ctx, b.locator(), b.blockNumber(), bits);
    }
}
