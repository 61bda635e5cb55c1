package dev.strata.control.metadata;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Reading and writing one item's attributes. Reading is strict: a missing or malformed attribute
 * or an unknown enum constant is a {@link MetadataException.CorruptItem} naming the item's key and
 * the attribute, never a default.
 */
final class Attrs {

    private final Map<String, AttributeValue> item;
    private final String where;

    private Attrs(Map<String, AttributeValue> item) {
        this.item = item;
        this.where = "item (" + str(item, MetadataTable.PK) + ", " + str(item, MetadataTable.SK) + ")";
    }

    static Attrs of(Map<String, AttributeValue> item) {
        return new Attrs(item);
    }

    private static String str(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v == null || v.s() == null ? "?" : v.s();
    }

    String string(String name) {
        AttributeValue v = item.get(name);
        if (v == null || v.s() == null) {
            throw new MetadataException.CorruptItem(where + " has no string attribute '" + name + "'", null);
        }
        return v.s();
    }

    Optional<String> optionalString(String name) {
        AttributeValue v = item.get(name);
        if (v == null || Boolean.TRUE.equals(v.nul())) {
            return Optional.empty();
        }
        return Optional.of(string(name));
    }

    long number(String name) {
        AttributeValue v = item.get(name);
        if (v == null || v.n() == null) {
            throw new MetadataException.CorruptItem(where + " has no number attribute '" + name + "'", null);
        }
        try {
            return Long.parseLong(v.n());
        } catch (NumberFormatException e) {
            throw new MetadataException.CorruptItem(where + ": '" + name + "' is not a whole number: " + v.n(), e);
        }
    }

    <E extends Enum<E>> E enumValue(String name, Class<E> type) {
        String s = string(name);
        try {
            return Enum.valueOf(type, s);
        } catch (IllegalArgumentException e) {
            throw new MetadataException.CorruptItem(where + ": '" + name + "' is '" + printable(s) + "', not a known "
                    + type.getSimpleName(), e);
        }
    }

    /** A typed value parsed from a string attribute; a parse failure is corruption. */
    <T> T parsed(String name, Function<String, T> parser) {
        String s = string(name);
        try {
            return parser.apply(s);
        } catch (IllegalArgumentException e) {
            throw new MetadataException.CorruptItem(where + ": '" + name + "' does not parse: " + e.getMessage(), e);
        }
    }

    <T> Optional<T> optionalParsed(String name, Function<String, T> parser) {
        return optionalString(name).isEmpty() ? Optional.empty() : Optional.of(parsed(name, parser));
    }

    /** Builds the record, turning its own validation failures into corruption of this item. */
    <T> T build(java.util.function.Supplier<T> constructor) {
        try {
            return constructor.get();
        } catch (IllegalArgumentException | NullPointerException | ArithmeticException e) {
            throw new MetadataException.CorruptItem(where + " is not valid: " + e.getMessage(), e);
        }
    }

    private static String printable(String s) {
        String cut = s.length() > 70 ? s.substring(0, 70) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    /** A builder for an item to write; empty optionals are left out. */
    static final class Writer {
        private final Map<String, AttributeValue> item = new HashMap<>();

        Writer s(String name, Object value) {
            item.put(name, AttributeValue.fromS(value.toString()));
            return this;
        }

        Writer n(String name, long value) {
            item.put(name, AttributeValue.fromN(Long.toString(value)));
            return this;
        }

        Writer s(String name, Optional<?> value) {
            value.ifPresent(v -> s(name, v));
            return this;
        }

        Map<String, AttributeValue> build() {
            return item;
        }
    }
}
