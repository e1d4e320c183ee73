public enum _SwitchboardServerPlaceholder {}
