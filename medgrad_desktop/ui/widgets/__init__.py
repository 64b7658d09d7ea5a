"""The Qt views of the main window: the image browser and its tiles, the image viewers and the area
that holds them, the prediction panel, the target picker, the status bar, the patient tree, and the
small widgets they are built from. They show the app model and call its methods."""
