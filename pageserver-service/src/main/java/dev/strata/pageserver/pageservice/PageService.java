package dev.strata.pageserver.pageservice;

import dev.strata.pageserver.basebackup.Basebackup;
import dev.strata.pageserver.basebackup.ChangedBlocks;
import dev.strata.pageserver.basebackup.Incremental;
import dev.strata.pageserver.basebackup.IncrementalPlanner;
import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.timeline.IngestPosition;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the page service answers, apart from the wire: resolves the timeline and the LSN (0 is
 * the last record LSN), waits (bounded) for WAL up to it, and reads the store. Blocking: runs
 * on the page service's executor, never on an event loop. Failures are
 * {@link TimelineException}s whose kind becomes the error frame's code.
 */
public final class PageService {

    private static final Logger LOG = LoggerFactory.getLogger(PageService.class);
    private static final byte[] ZERO_PAGE = new byte[PageProtocol.PAGE_SIZE];

    private final TimelineManager timelines;

    public PageService(TimelineManager timelines) {
        this.timelines = timelines;
    }

    public PageResponse answer(PageRequest request) {
        Timeline t = timelines.get(request.timeline());
        Lsn lsn = resolve(t, request);
        return switch (request) {
            case PageRequest.GetPage g -> new PageResponse.Page(g.requestId(), lsn, page(t, g, lsn));
            case PageRequest.RelSize s -> new PageResponse.RelSize(s.requestId(), lsn,
                    size(t, Key.relationSize(s.spcOid(), s.dbOid(), s.relNumber(), s.fork()), lsn));
            case PageRequest.ListDatabases d -> {
                List<DbDirectory.Db> dbs = List.copyOf(DbDirectory.decode(
                        t.store().getValue(Key.databaseDirectory(), lsn, t.redo())).entries());
                yield new PageResponse.Databases(d.requestId(), lsn, dbs);
            }
            case PageRequest.ListRelations r -> {
                List<RelDirectory.RelFork> rels = List.copyOf(RelDirectory.decode(
                        t.store().getValue(Key.relationDirectory(r.spcOid(), r.dbOid()), lsn, t.redo())).entries());
                yield new PageResponse.Relations(r.requestId(), lsn, rels);
            }
            case PageRequest.WaitLsn w -> new PageResponse.LsnReached(w.requestId(), t.lastRecordLsn());
            case PageRequest.Basebackup b -> throw new IllegalArgumentException("basebackup is streamed, see basebackup()");
        };
    }

    /**
     * True if answering {@code request} would wait for WAL (its LSN is beyond the timeline's last
     * record LSN now), so it should not hold up other requests answered with it.
     */
    public boolean mayWait(PageRequest request) {
        if (!request.lsn().isValid()) {
            return false;
        }
        try {
            return request.lsn().compareTo(timelines.get(request.timeline()).lastRecordLsn()) > 0;
        } catch (TimelineException e) {
            return false; // answered at once, with the error
        }
    }

    private static Lsn resolve(Timeline t, PageRequest r) {
        if (!r.lsn().isValid()) {
            if (r instanceof PageRequest.WaitLsn) {
                throw new TimelineException(TimelineException.Kind.BAD_REQUEST, "wait-for-LSN needs an LSN, got 0/0");
            }
            Lsn last = t.lastRecordLsn();
            t.awaitLsn(last, Duration.ZERO.plusMillis(1)); // state and range checks
            return last;
        }
        t.awaitLsn(r.lsn(), Duration.ofMillis(r.waitMillis()));
        return r.lsn();
    }

    private static byte[] page(Timeline t, PageRequest.GetPage g, Lsn lsn) {
        if (g.blockNo() == Key.SIZE_MARKER) {
            throw new TimelineException(TimelineException.Kind.BAD_REQUEST, "block number " + Integer.toUnsignedString(
                    g.blockNo()) + " is InvalidBlockNumber, not a block");
        }
        long blocks = size(t, Key.relationSize(g.spcOid(), g.dbOid(), g.relNumber(), g.fork()), lsn);
        if (blocks < 0) {
            throw new TimelineException(TimelineException.Kind.NOT_FOUND, "timeline " + t.id() + ": " + rel(g)
                    + " does not exist at " + lsn);
        }
        if (Integer.toUnsignedLong(g.blockNo()) >= blocks) {
            throw new TimelineException(TimelineException.Kind.NOT_FOUND, "timeline " + t.id() + ": " + rel(g) + " block "
                    + Integer.toUnsignedString(g.blockNo()) + " is beyond its size of " + blocks + " blocks at " + lsn);
        }
        byte[] page = t.store().getValue(Key.relationBlock(g.spcOid(), g.dbOid(), g.relNumber(), g.fork(), g.blockNo()),
                lsn, t.redo());
        // Below the size and never written: an extension PostgreSQL did not WAL-log yet, a zero page.
        return page == null ? ZERO_PAGE : page;
    }

    /**
     * The incremental basebackup of {@code t} at {@code lsn} over the request's base, or null
     * (logged with the reason) when only a full one will do.
     */
    private Incremental incremental(Timeline t, Lsn lsn, PageRequest.Basebackup b) {
        long started = System.nanoTime();
        IncrementalPlanner.Plan plan;
        try {
            plan = IncrementalPlanner.plan(t, lsn, b.base(), timelines::get, Duration.ofMillis(b.waitMillis()));
        } catch (RuntimeException e) {
            // The base only saves work: history that cannot be read for it (damaged, not
            // downloadable) is no reason to fail the basebackup, which reads other keys.
            LOG.warn("incremental basebackup not possible timeline={} lsn={} base={}: planning failed; writing a full"
                    + " one", t.id(), lsn, b.base(), e);
            return null;
        }
        if (!plan.isIncremental()) {
            LOG.info("incremental basebackup not possible timeline={} lsn={} base={}: {}; writing a full one", t.id(),
                    lsn, b.base(), plan.whyFull());
            return null;
        }
        ChangedBlocks changed = plan.incremental().changed();
        LOG.info("incremental basebackup timeline={} lsn={} base={} ranges={} changed_blocks={} changed_forks={}"
                        + " entries={} planned_in_ms={}", t.id(), lsn, b.base(), plan.ranges(), changed.blocks(),
                changed.forks(), changed.entries(), (System.nanoTime() - started) / 1_000_000);
        return plan.incremental();
    }

    private static String rel(PageRequest.GetPage g) {
        return "rel " + Integer.toUnsignedString(g.spcOid()) + "/" + Integer.toUnsignedString(g.dbOid()) + "/"
                + Integer.toUnsignedString(g.relNumber()) + "." + g.fork();
    }

    private static long size(Timeline t, Key sizeKey, Lsn lsn) {
        return BlockCount.decode(t.store().getValue(sizeKey, lsn, t.redo()));
    }

    /**
     * Writes the basebackup tar at the request's LSN to {@code out}; returns the LSN and prev
     * record LSN it is at. With LSN 0 it is the last record LSN, whose prev is known; an explicit
     * LSN must be the last record LSN or the disk-consistent LSN, the two whose prev is known.
     * With a base in the request the tar is incremental over it when {@link IncrementalPlanner}
     * finds that possible; otherwise (logged, with the reason) a full one.
     */
    public PageResponse.BasebackupEnd basebackup(PageRequest.Basebackup b, OutputStream out) throws IOException {
        Timeline t = timelines.get(b.timeline());
        Lsn lsn;
        Lsn prev;
        if (!b.lsn().isValid()) {
            t.awaitLsn(t.lastRecordLsn(), Duration.ofMillis(1));
            Timeline.LastRecord last = t.lastRecord();
            lsn = last.lsn();
            prev = last.prev();
        } else {
            t.awaitLsn(b.lsn(), Duration.ofMillis(b.waitMillis()));
            lsn = b.lsn();
            IngestPosition.Snapshot at = t.position(); // last record and disk-consistent, one moment
            Timeline.LastRecord last = new Timeline.LastRecord(at.lastRecordLsn(), at.lastRecordStart());
            if (last.lsn().equals(lsn)) {
                prev = last.prev();
            } else if (at.diskConsistentLsn().equals(lsn)) {
                prev = at.diskConsistentPrevRecordLsn();
            } else {
                Lsn known = t.prevRecordAt(lsn);
                if (known == null) {
                    Timeline.RecordEnd below = t.recordEndAtOrBelow(lsn);
                    throw new TimelineException(TimelineException.Kind.BAD_REQUEST, "timeline " + t.id()
                            + ": basebackup at " + lsn + " needs the start of the record ending there; known for the"
                            + " last record LSN " + last.lsn() + ", the disk-consistent LSN "
                            + t.store().diskConsistentLsn() + ", the start, every transaction end and every"
                            + " shutdown checkpoint (a compute's start)"
                            + (below == null ? "" : " (the newest at or below it: " + below.lsn() + ")"));
                }
                prev = known;
            }
        }
        if (!prev.isValid()) {
            throw new TimelineException(TimelineException.Kind.UNAVAILABLE, "timeline " + t.id() + ": the start of the"
                    + " record ending at " + lsn + " is not known yet (restarted without it); retry after the next record");
        }
        Incremental incremental = b.base() == null ? null : incremental(t, lsn, b);
        Basebackup.write(t.store(), t.redo(), lsn, prev, incremental, out);
        return new PageResponse.BasebackupEnd(b.requestId(), lsn, prev);
    }
}
