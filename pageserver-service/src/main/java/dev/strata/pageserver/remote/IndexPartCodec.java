package dev.strata.pageserver.remote;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.remote.Checksums;
import dev.strata.remote.Generation;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@link IndexPart} as JSON, with Jackson's streaming API (no reflection). LSNs as PostgreSQL
 * writes them ({@code 0/16B5A50}), CRC-32C as 8 hex digits, generations as numbers:
 *
 * <pre>
 * {"format_version": 1, "timeline_id": "…", "generation": 3,
 *  "disk_consistent_lsn": "0/3000028", "prev_record_lsn": "0/3000000",
 *  "start_lsn": "0/14EE5B0", "base": "imported", "data_checksums": false,
 *  "ancestor_timeline_id": null, "ancestor_lsn": "0/0", "gc_cutoff_lsn": "0/0",
 *  "start_prev_record_lsn": "0/14EE538" (optional: only when known),
 *  "layers": {"&lt;layer file name&gt;": {"size": 123, "crc32c": "1a2b3c4d", "generation": 3}, …}}
 * </pre>
 *
 * Reading is strict: a missing or unknown field, another format version or a timeline other than
 * the one expected is a {@link IndexFormatException}, never a guess.
 */
public final class IndexPartCodec {

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(1 << 16).maxNestingDepth(8).build())
            .build();

    /** A remote index that cannot be read. */
    public static final class IndexFormatException extends RuntimeException {
        public IndexFormatException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private IndexPartCodec() {
    }

    public static byte[] encode(IndexPart p) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + 160 * p.layers().size());
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("format_version", IndexPart.FORMAT_VERSION);
            g.writeStringField("timeline_id", p.timelineId().toString());
            g.writeNumberField("generation", p.generation().value());
            g.writeStringField("disk_consistent_lsn", p.diskConsistentLsn().toString());
            g.writeStringField("prev_record_lsn", p.prevRecordLsn().toString());
            g.writeStringField("start_lsn", p.startLsn().toString());
            g.writeStringField("base", p.base().label());
            g.writeBooleanField("data_checksums", p.dataChecksums());
            if (p.ancestorTimelineId() == null) {
                g.writeNullField("ancestor_timeline_id");
            } else {
                g.writeStringField("ancestor_timeline_id", p.ancestorTimelineId().toString());
            }
            g.writeStringField("ancestor_lsn", p.ancestorLsn().toString());
            g.writeStringField("gc_cutoff_lsn", p.gcCutoffLsn().toString());
            if (p.startPrevRecordLsn().isValid()) {
                g.writeStringField("start_prev_record_lsn", p.startPrevRecordLsn().toString());
            }
            g.writeObjectFieldStart("layers");
            for (var e : p.layers().entrySet()) {
                g.writeRaw('\n');
                g.writeObjectFieldStart(e.getKey().toString());
                g.writeNumberField("size", e.getValue().size());
                g.writeStringField("crc32c", Checksums.hex(e.getValue().crc32c()));
                g.writeNumberField("generation", e.getValue().generation().value());
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Decodes the index stored under {@code key}, which must belong to {@code expected}. */
    public static IndexPart decode(byte[] bytes, TimelineId expected, String key) {
        try (JsonParser p = JSON.createParser(bytes)) {
            expect(p.nextToken() == JsonToken.START_OBJECT, "not a JSON object");
            Integer version = null;
            TimelineId tl = null;
            Generation gen = null;
            Lsn dcl = null, prev = null, start = null, ancestorLsn = null, gc = null, startPrev = Lsn.INVALID;
            TimelineBase base = null;
            Boolean checksums = null;
            TimelineId ancestor = null;
            boolean ancestorSeen = false;
            SortedMap<LayerName, IndexPart.LayerMeta> layers = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "format_version" -> {
                        expect(t == JsonToken.VALUE_NUMBER_INT, "format_version is not a number");
                        version = p.getIntValue();
                        expect(version == IndexPart.FORMAT_VERSION, "format version " + version
                                + " is not supported (this build reads " + IndexPart.FORMAT_VERSION + ")");
                    }
                    case "timeline_id" -> tl = TimelineId.parse(text(p, t, field));
                    case "generation" -> gen = Generation.of(number(p, t, field));
                    case "disk_consistent_lsn" -> dcl = Lsn.parse(text(p, t, field));
                    case "prev_record_lsn" -> prev = Lsn.parse(text(p, t, field));
                    case "start_lsn" -> start = Lsn.parse(text(p, t, field));
                    case "base" -> base = TimelineBase.fromLabel(text(p, t, field));
                    case "data_checksums" -> {
                        expect(t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE, "data_checksums is not a boolean");
                        checksums = t == JsonToken.VALUE_TRUE;
                    }
                    case "ancestor_timeline_id" -> {
                        ancestorSeen = true;
                        ancestor = t == JsonToken.VALUE_NULL ? null : TimelineId.parse(text(p, t, field));
                    }
                    case "ancestor_lsn" -> ancestorLsn = Lsn.parse(text(p, t, field));
                    case "gc_cutoff_lsn" -> gc = Lsn.parse(text(p, t, field));
                    case "start_prev_record_lsn" -> startPrev = Lsn.parse(text(p, t, field));
                    case "layers" -> layers = layers(p, t);
                    default -> throw new IndexFormatException("unknown field '" + field + "'", null);
                }
            }
            expect(p.currentToken() == JsonToken.END_OBJECT && p.nextToken() == null, "trailing content");
            expect(version != null && tl != null && gen != null && dcl != null && prev != null && start != null
                    && base != null && checksums != null && ancestorSeen && ancestorLsn != null && gc != null
                    && layers != null, "a field is missing");
            expect(tl.equals(expected), "it belongs to timeline " + tl + ", not " + expected);
            return new IndexPart(tl, gen, dcl, prev, start, base, checksums, ancestor, ancestorLsn, gc, startPrev, layers);
        } catch (IndexFormatException e) {
            throw new IndexFormatException("remote index " + key + ": " + e.getMessage(), e.getCause());
        } catch (IOException | IllegalArgumentException e) {
            throw new IndexFormatException("remote index " + key + ": " + e.getMessage(), e);
        }
    }

    private static SortedMap<LayerName, IndexPart.LayerMeta> layers(JsonParser p, JsonToken t) throws IOException {
        expect(t == JsonToken.START_OBJECT, "layers is not an object");
        SortedMap<LayerName, IndexPart.LayerMeta> out = new TreeMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            LayerName name = LayerName.parse(p.currentName());
            expect(p.nextToken() == JsonToken.START_OBJECT, "layer " + name + " is not an object");
            Long size = null, gen = null;
            Integer crc = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                switch (field) {
                    case "size" -> size = number(p, v, field);
                    case "generation" -> gen = number(p, v, field);
                    case "crc32c" -> {
                        String hex = text(p, v, field);
                        expect(hex.length() == 8, "layer " + name + ": crc32c must be 8 hex digits");
                        crc = (int) Long.parseLong(hex, 16);
                    }
                    default -> throw new IndexFormatException("layer " + name + ": unknown field '" + field + "'", null);
                }
            }
            expect(size != null && gen != null && crc != null, "layer " + name + ": a field is missing");
            expect(out.put(name, new IndexPart.LayerMeta(size, crc, Generation.of(gen))) == null, "layer " + name + " twice");
        }
        return out;
    }

    private static String text(JsonParser p, JsonToken t, String field) throws IOException {
        expect(t == JsonToken.VALUE_STRING, field + " is not a string");
        return p.getText();
    }

    private static long number(JsonParser p, JsonToken t, String field) throws IOException {
        expect(t == JsonToken.VALUE_NUMBER_INT, field + " is not an integer");
        return p.getLongValue();
    }

    private static void expect(boolean ok, String problem) {
        if (!ok) {
            throw new IndexFormatException(problem, null);
        }
    }
}
