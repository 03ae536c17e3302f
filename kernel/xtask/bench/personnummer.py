"""Valid test personnummer for the benchmarks' seed data (imported by the
seed scripts)."""


def luhn(digits):
    total = 0
    for i, d in enumerate(digits):
        p = int(d) * (2 if i % 2 == 0 else 1)
        total += p // 10 + p % 10
    return str((10 - total % 10) % 10)


def pnr(n):
    """A valid personnummer per n: a date in 1950-1999 and a serial."""
    year, month, day = 1950 + n % 50, 1 + (n // 50) % 12, 1 + (n // 600) % 28
    serial = f"{n % 1000:03d}"
    body = f"{year % 100:02d}{month:02d}{day:02d}{serial}"
    return f"{year}{month:02d}{day:02d}{serial}{luhn(body)}"
