package dev.strata.control.model;

/** The size of an endpoint's compute. */
public record ComputeSettings(int cpuMillis, int memoryMib) {

    public static final int MIN_CPU_MILLIS = 250;
    public static final int MAX_CPU_MILLIS = 16_000;
    public static final int MIN_MEMORY_MIB = 256;
    public static final int MAX_MEMORY_MIB = 65_536;

    /** What {@code strata up} and a new endpoint get unless told otherwise. */
    public static final ComputeSettings DEFAULT = new ComputeSettings(1000, 1024);

    public ComputeSettings {
        if (cpuMillis < MIN_CPU_MILLIS || cpuMillis > MAX_CPU_MILLIS) {
            throw new IllegalArgumentException("cpuMillis must be " + MIN_CPU_MILLIS + " to " + MAX_CPU_MILLIS
                    + ", got " + cpuMillis);
        }
        if (memoryMib < MIN_MEMORY_MIB || memoryMib > MAX_MEMORY_MIB) {
            throw new IllegalArgumentException("memoryMib must be " + MIN_MEMORY_MIB + " to " + MAX_MEMORY_MIB
                    + ", got " + memoryMib);
        }
    }
}
