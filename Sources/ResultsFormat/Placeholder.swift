public enum ResultsFormatPlaceholder {}
