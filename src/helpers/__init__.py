"""Treaty-effects helpers."""
