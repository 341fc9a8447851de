"""The app's widgets: the transfer table, the queue summary and the parts grid."""
