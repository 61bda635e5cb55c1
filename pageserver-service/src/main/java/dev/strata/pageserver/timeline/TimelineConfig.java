package dev.strata.pageserver.timeline;

import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a timeline is, beyond its layers: id, start LSN (the bottom of its history: nothing
 * below it is served), whether relations older than the start were imported, whether the cluster
 * has data checksums, where its WAL comes from, and for a branch its ancestor (parent timeline
 * and ancestor LSN, which is also its start) and the start of the record ending at its start
 * (the {@code xl_prev} its first record and a basebackup there need; known for branches and
 * initdb timelines, else INVALID), its history retention ({@link Retention}) and the GC cutoff
 * GC has raised (INVALID: nothing collected; docs/pageserver.md, "GC and retention"). Kept in
 * {@code timeline.conf} (text,
 * {@code key=value} lines, mode 0600 because it holds replication passwords), replaced
 * atomically on change.
 */
public record TimelineConfig(TimelineId id, Lsn startLsn, TimelineBase base, boolean dataChecksums,
                             List<WalSource> walSources, TimelineId ancestorId, Lsn ancestorLsn,
                             Lsn startPrevRecordLsn, Retention retention, Lsn gcCutoffLsn) {

    public static final String FILE_NAME = "timeline.conf";
    /** More sources than this is a mistake, not a configuration. */
    public static final int MAX_WAL_SOURCES = 16;
    private static final String HEADER = "# strata pageserver timeline, format 1";

    public TimelineConfig {
        if (id == null || startLsn == null || base == null || walSources == null) {
            throw new IllegalArgumentException("timeline config fields must not be null");
        }
        if (!startLsn.isValid()) {
            throw new IllegalArgumentException("timeline " + id + ": start LSN must be valid, got " + startLsn);
        }
        if (walSources.size() > MAX_WAL_SOURCES) {
            throw new IllegalArgumentException("timeline " + id + ": " + walSources.size() + " WAL sources, at most "
                    + MAX_WAL_SOURCES);
        }
        walSources = List.copyOf(walSources);
        ancestorLsn = ancestorLsn == null ? Lsn.INVALID : ancestorLsn;
        startPrevRecordLsn = startPrevRecordLsn == null ? Lsn.INVALID : startPrevRecordLsn;
        retention = retention == null ? Retention.DEFAULTS : retention;
        gcCutoffLsn = gcCutoffLsn == null ? Lsn.INVALID : gcCutoffLsn;
        if ((ancestorId == null) != !ancestorLsn.isValid()) {
            throw new IllegalArgumentException("timeline " + id + ": ancestor timeline and ancestor LSN go together");
        }
        if (ancestorId != null && !ancestorLsn.equals(startLsn)) {
            throw new IllegalArgumentException("timeline " + id + ": a branch starts at its ancestor LSN " + ancestorLsn
                    + ", not " + startLsn);
        }
        if (ancestorId != null && ancestorId.equals(id)) {
            throw new IllegalArgumentException("timeline " + id + " cannot be its own ancestor");
        }
        if (startPrevRecordLsn.isValid() && !startPrevRecordLsn.isBefore(startLsn)) {
            throw new IllegalArgumentException("timeline " + id + ": the record ending at the start " + startLsn
                    + " cannot start at " + startPrevRecordLsn);
        }
    }

    /** With the default retention and no GC cutoff. */
    public TimelineConfig(TimelineId id, Lsn startLsn, TimelineBase base, boolean dataChecksums,
                          List<WalSource> walSources, TimelineId ancestorId, Lsn ancestorLsn, Lsn startPrevRecordLsn) {
        this(id, startLsn, base, dataChecksums, walSources, ancestorId, ancestorLsn, startPrevRecordLsn,
                Retention.DEFAULTS, Lsn.INVALID);
    }

    /** A root timeline (no ancestor), start record's start unknown. */
    public TimelineConfig(TimelineId id, Lsn startLsn, TimelineBase base, boolean dataChecksums,
                          List<WalSource> walSources) {
        this(id, startLsn, base, dataChecksums, walSources, null, Lsn.INVALID, Lsn.INVALID);
    }

    public TimelineConfig withWalSources(List<WalSource> sources) {
        return new TimelineConfig(id, startLsn, base, dataChecksums, sources, ancestorId, ancestorLsn,
                startPrevRecordLsn, retention, gcCutoffLsn);
    }

    public TimelineConfig withRetention(Retention r) {
        return new TimelineConfig(id, startLsn, base, dataChecksums, walSources, ancestorId, ancestorLsn,
                startPrevRecordLsn, r, gcCutoffLsn);
    }

    public TimelineConfig withGcCutoffLsn(Lsn cutoff) {
        return new TimelineConfig(id, startLsn, base, dataChecksums, walSources, ancestorId, ancestorLsn,
                startPrevRecordLsn, retention, cutoff);
    }

    /** True for a branch (it has an ancestor). */
    public boolean isBranch() {
        return ancestorId != null;
    }

    public void write(Path dir) {
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        b.append("id=").append(id).append('\n');
        b.append("start_lsn=").append(startLsn).append('\n');
        b.append("base=").append(base.name()).append('\n');
        b.append("data_checksums=").append(dataChecksums).append('\n');
        if (ancestorId != null) {
            b.append("ancestor_timeline_id=").append(ancestorId).append('\n');
            b.append("ancestor_lsn=").append(ancestorLsn).append('\n');
        }
        if (startPrevRecordLsn.isValid()) {
            b.append("start_prev_record_lsn=").append(startPrevRecordLsn).append('\n');
        }
        b.append("pitr=").append(retention.pitr()).append('\n');
        b.append("gc_horizon_bytes=").append(retention.horizonBytes()).append('\n');
        if (gcCutoffLsn.isValid()) {
            b.append("gc_cutoff_lsn=").append(gcCutoffLsn).append('\n');
        }
        for (int i = 0; i < walSources.size(); i++) {
            WalSource s = walSources.get(i);
            b.append("source.").append(i).append(".host=").append(s.host()).append('\n');
            b.append("source.").append(i).append(".port=").append(s.port()).append('\n');
            b.append("source.").append(i).append(".user=").append(s.user()).append('\n');
            b.append("source.").append(i).append(".password=").append(s.password()).append('\n');
        }
        Path file = dir.resolve(FILE_NAME);
        try {
            CrashSafe.writeAtomically(file, b.toString().getBytes(StandardCharsets.UTF_8));
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    public static TimelineConfig read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new StorageException(StorageException.Category.MISSING, file + " does not exist: not a timeline directory");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
            throw corrupt(file, "does not start with '" + HEADER + "'");
        }
        Map<String, String> kv = new LinkedHashMap<>();
        for (int i = 1; i < lines.size(); i++) {
            String l = lines.get(i);
            int eq = l.indexOf('=');
            if (eq <= 0) {
                throw corrupt(file, "line " + (i + 1) + " is not key=value");
            }
            kv.put(l.substring(0, eq), l.substring(eq + 1));
        }
        try {
            List<WalSource> sources = new ArrayList<>();
            for (int i = 0; kv.containsKey("source." + i + ".host"); i++) {
                sources.add(new WalSource(kv.get("source." + i + ".host"),
                        Integer.parseInt(need(kv, "source." + i + ".port")),
                        need(kv, "source." + i + ".user"), need(kv, "source." + i + ".password")));
            }
            String ancestor = kv.get("ancestor_timeline_id");
            String ancestorLsn = kv.get("ancestor_lsn");
            String startPrev = kv.get("start_prev_record_lsn");
            String pitr = kv.get("pitr");
            String horizon = kv.get("gc_horizon_bytes");
            String cutoff = kv.get("gc_cutoff_lsn");
            Retention retention;
            try {
                retention = new Retention(pitr == null ? Retention.DEFAULTS.pitr() : java.time.Duration.parse(pitr),
                        horizon == null ? Retention.DEFAULTS.horizonBytes() : Long.parseLong(horizon));
            } catch (java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException("pitr '" + pitr + "' is not an ISO-8601 duration");
            }
            return new TimelineConfig(TimelineId.parse(need(kv, "id")), Lsn.parse(need(kv, "start_lsn")),
                    TimelineBase.valueOf(need(kv, "base")), Boolean.parseBoolean(need(kv, "data_checksums")), sources,
                    ancestor == null ? null : TimelineId.parse(ancestor),
                    ancestorLsn == null ? Lsn.INVALID : Lsn.parse(ancestorLsn),
                    startPrev == null ? Lsn.INVALID : Lsn.parse(startPrev), retention,
                    cutoff == null ? Lsn.INVALID : Lsn.parse(cutoff));
        } catch (IllegalArgumentException e) {
            throw corrupt(file, e.getMessage());
        }
    }

    private static String need(Map<String, String> kv, String key) {
        String v = kv.get(key);
        if (v == null) {
            throw new IllegalArgumentException("key '" + key + "' is missing");
        }
        return v;
    }

    private static StorageException corrupt(Path file, String problem) {
        return new StorageException(StorageException.Category.CORRUPT, "timeline config " + file + ": " + problem);
    }

    @Override
    public String toString() {
        return "TimelineConfig[id=" + id + ", start=" + startLsn + ", base=" + base + ", checksums=" + dataChecksums
                + ", sources=" + walSources + (ancestorId == null ? "" : ", ancestor=" + ancestorId + "@" + ancestorLsn)
                + ", retention=" + retention + (gcCutoffLsn.isValid() ? ", gc_cutoff=" + gcCutoffLsn : "") + "]";
    }
}
