package dev.strata.pageserver.ingest;

import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.ForkNumber;
import dev.strata.pgcore.wal.RelFileLocator;

/**
 * The visibility-map operations WAL implies but does not log as page changes
 * ({@code access/heap/visibilitymap.c}): two bits per heap block after the page header.
 */
final class VisibilityMap {

    static final int ALL_VISIBLE = 0x01;
    static final int ALL_FROZEN = 0x02;
    static final int VALID_BITS = 0x03;

    private static final int MAPSIZE = PageHeader.PAGE_SIZE - PageHeader.SIZE;
    private static final int HEAPBLOCKS_PER_BYTE = 4;
    private static final long HEAPBLOCKS_PER_PAGE = (long) MAPSIZE * HEAPBLOCKS_PER_BYTE;
    private static final int VM = ForkNumber.VISIBILITY_MAP.ordinal();

    private VisibilityMap() {
    }

    /**
     * {@code visibilitymap_clear}: the primary only clears bits on a VM page that exists (the
     * heap page was all-visible), so a VM page we never ingested means the relation predates
     * what this timeline has: stop rather than invent a page.
     */
    static void clear(DecodedRecord r, IngestContext ctx, RelFileLocator rel, long heapBlock, int bits) {
        long mapBlock = heapBlock / HEAPBLOCKS_PER_PAGE;
        int mapByte = (int) ((heapBlock % HEAPBLOCKS_PER_PAGE) / HEAPBLOCKS_PER_BYTE);
        int mapOffset = (int) ((heapBlock % HEAPBLOCKS_PER_BYTE) * 2);
        long vmBlocks = ctx.relationSize(rel, VM);
        if (vmBlocks < 0 && ctx.base() == TimelineBase.WAL_ONLY) {
            ctx.skippedOnUnseenFork(); // a relation older than the start: incomplete by definition
            return;
        }
        byte[] page = mapBlock < vmBlocks ? ctx.latestPage(rel, VM, mapBlock) : null;
        if (page == null && mapBlock < vmBlocks) {
            return; // below the size but never written: a zero page, no bit to clear
        }
        if (page == null) {
            throw new IngestException(r, "must clear visibility-map bits of " + rel + " heap block " + heapBlock
                    + " but VM block " + mapBlock + " was never ingested (relation older than the timeline start?)");
        }
        int at = PageHeader.SIZE + mapByte;
        page[at] = (byte) (page[at] & ~(bits << mapOffset));
        ctx.putPage(rel, VM, mapBlock, page);
    }

    /**
     * {@code visibilitymap_prepare_truncate} then the fork truncation: clears the bits of
     * heap blocks at or after {@code heapBlocks} on the last remaining VM page and shrinks the
     * VM fork. A fork we do not have needs nothing.
     */
    static void truncate(IngestContext ctx, RelFileLocator rel, long heapBlocks) {
        long size = ctx.relationSize(rel, VM);
        if (size < 0) {
            return;
        }
        long truncBlock = heapBlocks / HEAPBLOCKS_PER_PAGE;
        int truncByte = (int) ((heapBlocks % HEAPBLOCKS_PER_PAGE) / HEAPBLOCKS_PER_BYTE);
        int truncOffset = (int) ((heapBlocks % HEAPBLOCKS_PER_BYTE) * 2);
        long newBlocks;
        if (truncByte != 0 || truncOffset != 0) {
            newBlocks = truncBlock + 1;
            if (truncBlock >= size) {
                return; // the map is already shorter than the part to clear
            }
            byte[] page = ctx.latestPage(rel, VM, truncBlock);
            if (page != null) { // a block below the size with no value is a zero page: nothing to clear
                int at = PageHeader.SIZE + truncByte;
                java.util.Arrays.fill(page, at + 1, PageHeader.PAGE_SIZE, (byte) 0);
                page[at] = (byte) (page[at] & ((1 << truncOffset) - 1));
                ctx.putPage(rel, VM, truncBlock, page);
            }
        } else {
            newBlocks = truncBlock;
        }
        if (size > newBlocks) {
            ctx.setRelationSize(rel, VM, newBlocks);
        }
    }
}
