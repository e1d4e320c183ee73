public enum _SwitchboardHTTPPlaceholder {}
